from django.views.generic import TemplateView

from dealercrm.core.views import DealershipMixin


class CounterView(DealershipMixin, TemplateView):
    action = "customer.view"
    template_name = "customers/counter.html"
