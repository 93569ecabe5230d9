"""Every write of the dealership's administration: users, memberships, API tokens, dealership settings.

An administrator acts within their own dealerships only: the dealerships they give or take away are
checked against theirs, and a user's memberships of other dealerships are left as they are. Nothing
here makes a user staff or superuser (the Django admin is for the platform's operators). Each write
names its acting user (and a change reason where the values alone do not tell) in the history.
"""

from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access_log
from ..exceptions import ApplicationError, StateConflict
from ..models import ApiToken, Dealership, Membership, User
from ..roles import Role
from ..tenancy import user_dealerships

#: the expiries an administrator chooses from when issuing a token (days); the first is the default
TOKEN_EXPIRY_DAYS = (90, 30, 180, 365)

# Stable keys in the history's change reason; the audit page shows them translated (selectors.REASONS).
REASON_CREATED = "created"
REASON_PASSWORD = "password reset"  # noqa: S105 - a change reason, not a password
REASON_DEACTIVATED = "deactivated"
REASON_REACTIVATED = "reactivated"
REASON_REVOKED = "revoked"


def _audited(instance, acting_user, reason: str | None = None):
    """Name the acting user (and why) on the history row the next save or delete writes."""
    instance._history_user = acting_user
    if reason:
        instance._change_reason = reason
    return instance


def _own_dealerships(acting_user, dealerships) -> set[int]:
    """The ids of ``dealerships``, each required to be one of the administrator's."""
    mine = set(user_dealerships(acting_user).values_list("pk", flat=True))
    wanted = {d.pk for d in dealerships}
    if not wanted <= mine:
        raise ApplicationError(_("You may only give access to your own dealerships."), code="foreign_dealership")
    return wanted


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ApplicationError(
            _("“%(role)s” is not a role.") % {"role": role}, code="invalid_role", fields={"role": [_("Not a role.")]}
        )


def _username_taken() -> ValidationError:
    return ValidationError({"username": ValidationError(_("This username is taken."), code="username_taken")})


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc


class SharedUser(ApplicationError):
    """The user also works in a dealership the administrator does not run: what would reach there is refused."""

    code = "shared_user"
    status = 403


def _require_whole_user(acting_user: User, user: User, *, theirs=None, mine=None) -> None:
    """A user's role, password, active flag and tokens reach all their dealerships: only an administrator of
    every one of them may change them (another store's administrator only adds or removes their own store)."""
    if theirs is None:
        theirs = set(user.memberships.values_list("dealership_id", flat=True))
    if mine is None:
        mine = set(user_dealerships(acting_user).values_list("pk", flat=True))
    if not theirs <= mine:
        raise SharedUser(
            _(
                "%(user)s also works in dealerships you do not administer: their role, password, tokens and "
                "access are changed by an administrator of all of them. You may add or remove your own "
                "dealerships."
            )
            % {"user": user.username}
        )


@transaction.atomic
def staff_create(*, acting_user: User, username: str, display_name: str, role: str, dealerships, password: str) -> User:
    """A new user of some of the administrator's dealerships, with an initial password."""
    _check_role(role)
    wanted = _own_dealerships(acting_user, dealerships)
    if not wanted:
        raise ApplicationError(
            _("Choose at least one dealership."), code="no_dealership", fields={"dealerships": [_("Required.")]}
        )
    username = (username or "").strip()
    user = User(username=username, display_name=(display_name or "").strip(), role=role)
    user.is_staff = user.is_superuser = False
    user.full_clean(exclude=["password"], validate_unique=False)
    if User.objects.filter(username__iexact=username).exists():
        raise _username_taken()
    _check_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            _audited(user, acting_user, REASON_CREATED).save()
    except IntegrityError:
        raise _username_taken() from None
    for dealership_id in sorted(wanted):
        _audited(Membership(user=user, dealership_id=dealership_id), acting_user).save()
    return user


@transaction.atomic
def staff_update(*, acting_user: User, user: User, role: str, display_name: str, dealerships) -> User:
    """Role, display name and memberships of the administrator's dealerships (others are left as they are)."""
    _check_role(role)
    wanted = _own_dealerships(acting_user, dealerships)
    user = User.objects.select_for_update().get(pk=user.pk)
    mine = set(user_dealerships(acting_user).values_list("pk", flat=True))
    theirs = set(user.memberships.values_list("dealership_id", flat=True))
    current = theirs & mine
    if user.pk == acting_user.pk and (role != user.role or not current <= wanted):
        raise ApplicationError(
            _("You may not change your own role or take away your own dealerships: ask another administrator."),
            code="self_change",
        )
    if role != user.role:
        _require_whole_user(acting_user, user, theirs=theirs, mine=mine)
    if not wanted and theirs <= mine:
        raise ApplicationError(
            _("Choose at least one dealership."), code="no_dealership", fields={"dealerships": [_("Required.")]}
        )
    display_name = (display_name or "").strip()
    if (user.role, user.display_name) != (role, display_name):
        user.role, user.display_name = role, display_name
        user.full_clean(exclude=["password"], validate_unique=False)
        _audited(user, acting_user).save(update_fields=["role", "display_name"])
    for membership in user.memberships.filter(dealership_id__in=current - wanted):
        _audited(membership, acting_user).delete()
    for dealership_id in sorted(wanted - current):
        _audited(Membership(user=user, dealership_id=dealership_id), acting_user).save()
    return user


@transaction.atomic
def staff_set_active(*, acting_user: User, user: User, active: bool) -> User:
    """Deactivate (their sessions and tokens stop working at once) or reactivate a user; never oneself."""
    if user.pk == acting_user.pk:
        raise ApplicationError(_("You may not deactivate yourself."), code="self_deactivation")
    user = User.objects.select_for_update().get(pk=user.pk)
    _require_whole_user(acting_user, user)
    if user.is_active == active:
        message = _("%(user)s is already active.") if active else _("%(user)s is already deactivated.")
        raise StateConflict(message % {"user": user}, code="already_active" if active else "already_inactive")
    user.is_active = active
    _audited(user, acting_user, REASON_REACTIVATED if active else REASON_DEACTIVATED).save(update_fields=["is_active"])
    return user


@transaction.atomic
def staff_set_password(*, acting_user: User, user: User, password: str) -> User:
    """The administrator sets a new password (Django's password validators apply); the user's sessions end."""
    user = User.objects.select_for_update().get(pk=user.pk)
    _require_whole_user(acting_user, user)
    _check_password(password, user)
    user.set_password(password)
    _audited(user, acting_user, REASON_PASSWORD).save(update_fields=["password"])
    return user


@transaction.atomic
def token_issue(
    *,
    acting_user: User,
    user: User,
    name: str,
    days: int = TOKEN_EXPIRY_DAYS[0],
    dealership: Dealership | None = None,
    request=None,
) -> tuple[ApiToken, str]:
    """A named token for ``user`` expiring in ``days``; returns the token and its key (shown once, never stored).
    One access event (``token_created``) in ``dealership`` (the administrator's current one) names it."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(
            _("Name the token, e.g. after the system that uses it."), code="required", fields={"name": [_("Required.")]}
        )
    if days not in TOKEN_EXPIRY_DAYS:
        raise ApplicationError(
            _("Choose an expiry of %(choices)s days.") % {"choices": ", ".join(map(str, sorted(TOKEN_EXPIRY_DAYS)))},
            code="invalid_expiry",
            fields={"days": [_("Not one of the choices.")]},
        )
    _require_whole_user(acting_user, user)  # a token acts in every dealership of its user
    if not user.is_active:
        raise StateConflict(_("%(user)s is deactivated: reactivate them first.") % {"user": user}, code="user_inactive")
    token, key = _token_create(user=user, name=name, expiry=timedelta(days=days), acting_user=acting_user)
    _record_token(access_log.Kind.TOKEN_CREATED, token, acting_user=acting_user, dealership=dealership, request=request)
    return token, key


def _record_token(kind: str, token: ApiToken, *, acting_user: User, dealership=None, request=None) -> None:
    """The access event of a token created or revoked: who did it, for whom, which token (its public prefix)."""
    access_log.record(
        kind,
        user=acting_user,
        dealership=dealership,
        request=request,
        what=f"API token “{token.name}” of {token.user.username}"[:200],
        details={
            "token_key": token.token_key,
            "name": token.name,
            "token_user": token.user.username,
            "expiry": token.expiry.isoformat() if token.expiry else None,
        },
    )


def _token_create(*, user: User, name: str, expiry: timedelta, acting_user: User) -> tuple[ApiToken, str]:
    token = _audited(ApiToken(), acting_user)
    # knox's manager saves the row; the history row names the acting user through the instance's attributes.
    from knox.models import get_digest_token
    from knox.settings import CONSTANTS

    digest, key = get_digest_token()
    token.digest, token.token_key = digest, key[: CONSTANTS.TOKEN_KEY_LENGTH]
    token.user, token.name, token.created_by = user, name[:100], acting_user
    token.expiry = timezone.now() + expiry
    token.save(force_insert=True)
    return token, key


def token_issue_for_login(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """The token endpoint's token (username and password): the default expiry, issued by the user themselves."""
    from knox.settings import knox_settings

    return _token_create(
        user=user, name=(name or "").strip() or _("API sign-in"), expiry=knox_settings.TOKEN_TTL, acting_user=user
    )


@transaction.atomic
def token_sign_in(*, user: User, name: str = "", request=None) -> tuple[ApiToken, str]:
    """The token endpoint's sign-in: a token for the user themselves (``token_issue_for_login``) and its one
    access event (``token_created``; no dealership: it acts in every dealership of the user)."""
    from ..lockout import address_only

    token, key = token_issue_for_login(user=user, name=name)
    _record_token(
        access_log.Kind.TOKEN_CREATED, token, acting_user=user, request=address_only(request) if request else None
    )
    return token, key


@transaction.atomic
def token_revoke(*, acting_user: User, token: ApiToken, dealership: Dealership | None = None, request=None) -> None:
    """The token stops working at once; its history keeps who revoked it and when, and one access event
    (``token_revoked``) in ``dealership`` names it."""
    _record_token(access_log.Kind.TOKEN_REVOKED, token, acting_user=acting_user, dealership=dealership, request=request)
    _audited(token, acting_user, REASON_REVOKED).delete()


@transaction.atomic
def dealership_update(
    *,
    acting_user: User,
    dealership: Dealership,
    name: str,
    time_zone: str,
    plate_prefix: str,
    consent_text: str | None = None,
) -> Dealership:
    """A dealership's name, time zone, plate prefix and consent wording (validated by the model); a
    ``consent_text`` of None leaves the wording as it is."""
    if dealership.pk not in set(user_dealerships(acting_user).values_list("pk", flat=True)):
        raise ApplicationError(_("You may only change your own dealerships."), code="foreign_dealership")
    dealership = Dealership.objects.select_for_update().get(pk=dealership.pk)
    dealership.name = (name or "").strip()
    dealership.time_zone = (time_zone or "").strip()
    dealership.plate_prefix = (plate_prefix or "").strip().upper()
    fields = ["name", "time_zone", "plate_prefix"]
    if consent_text is not None:
        dealership.consent_text = consent_text.strip()
        fields.append("consent_text")
    dealership.full_clean(exclude=["code"])
    _audited(dealership, acting_user).save(update_fields=fields)
    return dealership
