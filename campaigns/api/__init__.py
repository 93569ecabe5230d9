"""REST API v1 of campaigns: campaigns, target groups, invitations and calls, coupon templates, coupons and the
compliance terms (routes in ``campaigns.api_urls``)."""
