from django.utils.functional import SimpleLazyObject

from .tenancy import resolve_dealership


class CurrentDealershipMiddleware:
    """Sets ``request.dealership`` lazily, so that the API's token user is known when it is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.dealership = SimpleLazyObject(lambda: resolve_dealership(request))
        return self.get_response(request)
