"""factory_boy factories with Faker's zh_CN locale."""

import random
import string
from datetime import date
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from customers.models import Customer, ServiceVisit, Vehicle, VisitType
from customers.validators import vin_check_digit
from dealercrm.core.models import Dealership, Membership, User
from dealercrm.core.roles import Role

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def make_vin(seed: int) -> str:
    """A valid VIN (right check digit), different for every seed."""
    rnd = random.Random(seed)
    body = (
        "LSG"
        + "".join(rnd.choice(_VIN_CHARS) for _ in range(5))
        + "0"
        + "".join(rnd.choice(_VIN_CHARS) for _ in range(2))
    )
    tail = f"{seed % 1_000_000:06d}"
    vin = body + tail
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def make_plate(seed: int, prefix: str = "粤B") -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return prefix + letters[seed % len(letters)] + f"{seed % 10000:04d}"


class DealershipFactory(DjangoModelFactory):
    class Meta:
        model = Dealership
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"STORE{n}")
    name = factory.Sequence(lambda n: f"深圳{n}号4S店")
    city = "深圳"
    plate_prefix = "粤B"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name", locale="zh_CN")
    role = Role.ADVISOR
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.post_generation
    def dealerships(self, create, extracted, **kwargs):
        if create and extracted:
            for dealership in extracted:
                Membership.objects.create(user=self, dealership=dealership)
        if create:
            self.save()


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    dealership = factory.SubFactory(DealershipFactory)
    customer_no = factory.Sequence(lambda n: f"C{n:07d}")
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"+86138{n % 100000000:08d}")
    city = "深圳"
    marketing_consent = True


class VehicleFactory(DjangoModelFactory):
    class Meta:
        model = Vehicle

    dealership = factory.SelfAttribute("owner.dealership")
    owner = factory.SubFactory(CustomerFactory)
    vin = factory.Sequence(make_vin)
    plate = factory.Sequence(make_plate)
    brand = "别克"
    model = "新君越"
    model_year = 2022
    purchase_date = date(2022, 3, 1)
    fuel_type = "ICE"


class ServiceVisitFactory(DjangoModelFactory):
    class Meta:
        model = ServiceVisit

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.SelfAttribute("vehicle.owner")
    dealership = factory.SelfAttribute("vehicle.dealership")
    ro_number = factory.Sequence(lambda n: f"RO{n:08d}")
    opened_on = date(2024, 5, 10)
    closed_on = date(2024, 5, 10)
    visit_type = VisitType.MAINTENANCE
    labor_amount = Decimal("200.00")
    parts_amount = Decimal("350.00")
    total_amount = Decimal("550.00")
    advisor_name = "王顾问"


def random_code(n=6):
    return "".join(random.choices(string.ascii_uppercase, k=n))
