"""The Advertising Law check of campaign texts: absolute expressions (最好, 第一品牌, 国家级, …) are banned.

An occurrence of a banned expression is allowed when it lies inside an occurrence of an allowed phrase
(第一时间 holds 第一; 最低消费 holds 最低). The built-in lists below are SPEC's; a dealership adds its own
banned expressions or allowed phrases (``ComplianceTerm``), and may allow a built-in expression outright.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

BANNED = (
    "最好",
    "最佳",
    "最优",
    "最强",
    "最专业",
    "最低价",
    "最便宜",
    "最高级",
    "最先进",
    "最大",
    "最全",
    "最新技术",
    "第一",
    "第一品牌",
    "唯一",
    "首选",
    "国家级",
    "世界级",
    "全球领先",
    "顶级",
    "极品",
    "极致",
    "绝对",
    "万能",
    "100%",
)
ALLOWED = (
    "第一时间",
    "第一次",
    "最近",
    "最低消费",
    "最后",
    "最终",
    "最多",
    "最少",
    "最早",
    "最晚",
)


@dataclass(frozen=True)
class Finding:
    phrase: str  # the banned expression
    where: str  # which text, for the user ("call script of target group 盈利忠诚")
    excerpt: str  # the words around it

    def message(self) -> str:
        return _("“%(phrase)s” in %(where)s: …%(excerpt)s…") % {
            "phrase": self.phrase,
            "where": self.where,
            "excerpt": self.excerpt,
        }


def terms(dealership) -> tuple[list[str], list[str]]:
    """(banned, allowed) for ``dealership``: the built-in lists with its own terms."""
    from .models import ComplianceTerm

    own = list(ComplianceTerm.objects.filter(dealership=dealership).values_list("kind", "phrase"))
    allowed = sorted({*ALLOWED, *(p for k, p in own if k == ComplianceTerm.Kind.ALLOWED)})
    banned = sorted({*BANNED, *(p for k, p in own if k == ComplianceTerm.Kind.BANNED)} - set(allowed))
    return banned, allowed


def scan(text: str, where: str, banned: list[str], allowed: list[str]) -> list[Finding]:
    """Every banned expression in ``text`` that no allowed phrase around it covers (Latin letters in any case:
    "No.1" is "NO.1")."""
    if not text:
        return []
    folded = text.lower() if len(text.lower()) == len(text) else text  # positions must stay those of ``text``
    covered = [False] * len(text)
    for phrase in allowed:
        phrase = phrase.lower()
        start = folded.find(phrase)
        while start >= 0:
            for i in range(start, start + len(phrase)):
                covered[i] = True
            start = folded.find(phrase, start + 1)
    findings = {}
    for phrase in sorted(banned, key=len, reverse=True):  # report 第一品牌, not also 第一 inside it
        needle = phrase.lower()
        start = folded.find(needle)
        while start >= 0:
            span = range(start, start + len(needle))
            if not all(covered[i] for i in span):
                excerpt = text[max(0, start - 8) : start + len(phrase) + 8].replace("\n", " ")
                findings.setdefault(phrase, Finding(phrase, where, excerpt))
                for i in span:
                    covered[i] = True
            start = folded.find(needle, start + 1)
    return list(findings.values())


def campaign_findings(campaign) -> list[Finding]:
    """Findings in the campaign's copy, its target groups' scripts and the offers they make."""
    banned, allowed = terms(campaign.dealership)
    texts = [
        (campaign.name, _("the campaign name")),
        (campaign.description, _("the campaign copy")),
    ]
    for group in campaign.target_groups.prefetch_related("offers", "offers_b"):
        texts.append((group.script, _("the call script of target group “%(name)s”") % {"name": group.name}))
        if group.ab_test:
            texts.append((group.script_b, _("the variant B script of target group “%(name)s”") % {"name": group.name}))
        offered = {*group.offers.all(), *(group.offers_b.all() if group.ab_test else [])}
        for template in sorted(offered, key=lambda t: (t.name, t.pk)):
            where = _("the offer “%(offer)s” of target group “%(name)s”") % {"offer": template.name, "name": group.name}
            texts.append((f"{template.name} {template.gift}", where))
    findings = []
    for text, where in texts:
        findings.extend(scan(text, where, banned, allowed))
    return findings
