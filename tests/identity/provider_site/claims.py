from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims, user):
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    return claims


class DirectoryClaims(ScopeClaims):
    """The `groups` scope: the user's groups, and their department (the group `dept-<code>`)."""

    info_groups = ("Groups", "Your groups and department.")

    def scope_groups(self):
        names = sorted(self.user.groups.values_list("name", flat=True))
        departments = [n.removeprefix("dept-") for n in names if n.startswith("dept-")]
        return {
            "groups": [n for n in names if not n.startswith("dept-")],
            "department": departments[0] if departments else "",
        }
