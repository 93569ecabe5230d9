"""Expose the role table to Django's permission system as ``dealercrm.<action>``.

``user.has_perm("dealercrm.customer.edit")`` and ``{% if perms.dealercrm... %}``
then read the same table as the views and the API.
"""

import rules

from .roles import PERMISSIONS, can


def _predicate(action):
    @rules.predicate(name=f"can_{action}")
    def check(user):
        return can(user, action)

    return check


for _action in PERMISSIONS:
    rules.add_perm(f"dealercrm.{_action}", _predicate(_action))
