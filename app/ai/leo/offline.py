"""Leo without a model: recognizes the common questions and answers with the real figures.

Each answer is built from tool results (the same analytics functions the model would call),
so the sentence and the figures shown beside it come from one place. It never repeats the
question back: a name the tenant doesn't have (another business's product) appears nowhere
in the answer.
"""
from __future__ import annotations

import calendar
import re

from rapidfuzz import fuzz

from app.ai.leo import figures as fig
from app.ai.leo import spelling, tools
from app.ai.leo.periods import default_period, parse_period, parse_platform
from app.money import format_money

INTENTS = [
    ("promises", r"\bpromis|\bcommit(ted|ments?)\b|\bguarantee"
                 r"|\b(ai|bot|agent|assistant|salesperson)\b.*\b(offer|quot|said|say|told|tell|gave|give|given|discount)"
                 r"|\b(offers?|discounts?|deals?)\b.*\b(ai|bot|agent|assistant|salesperson)\b"),
    ("closers", r"\b(ai|bot|agent|human|staff|team)\b.*\b(clos|sales|sold|share|converts?)|\bwho (closed|sold|sells)"),
    ("improve", r"\bimprov|\bincreas|\bgrow|\bboost|\bbetter\b|\btips?\b|\badvi[cs]e|\bsuggest|\bwhat should i|\b(sell|make|earn) more\b|\bmore (sales|orders|revenue|customers|buyers|leads|conversions)\b"),
    ("compare", r"\bcompar|\bvs\.?(?=\s)|\bversus\b|\bthan (last|the|before|previous)|\bchanged?\b|\btrend"
                r"|\b(go|goes|went|gone|going) (up|down)\b|\bup or down\b"
                r"|\b(sales|revenue|orders|conversions?) (have |has )?(dropped|fallen|fell|decreased|grown|risen|rose)\b"),
    ("campaigns", r"\bcampaigns?\b"),
    ("products", r"\bproducts?\b|\bitems?\b|\bsells?\b.*\bbest\b|\bbest[- ]?sell|\btop[- ]sell|\bwhat('?s| is| are)? sells\b|\bselling\b|\bpopular\b"),
    ("ads", r"\bads?\b|\badverts?\b|\badvertisements?\b"),
    ("busiest", r"\bbusiest\b|\bpeak\b|\bwhat time\b|\bwhen do (customers|people|they)\b|\bwhich (day|hour)s?\b"),
    ("platforms", r"\bplatforms?\b|\bchannels?\b|\bwhich (app|platform)\b"),
    ("conversion", r"\bconver(sion|t|ting|ted)\b|\bturns? into (an? )?(sales?|orders?|buyers?|customers?)\b"
                   r"|\bbec(a|o)me (sales|orders|buyers|paying)\b|\bclose rate\b|\bpercent(age)? of (chats|conversations|leads)\b"),
    ("response", r"\brespon(se|d|ding)\b|\breply (time|speed)|\bhow (fast|quick)|\bfirst reply\b"),
    ("revenue", r"\brevenue|\brefund|\bsales\b|\bearn|\bmade\b|\bmake\b|\bincome|\bmoney|\bturnover|\bsold\b|\bsell\b|\bsale\b|\borders?\b|\baov\b|\baverage order"),
    ("messages", r"\bmessages?\b|\bconversations?\b|\bchats?\b|\bcustomers?\b|\bleads?\b|\benquir|\binquir"),
]
NAME_SCORE = 90
# Words that name no campaign in particular however many names carry them.
GENERIC_WORDS = {"campaign", "campaigns", "sale", "sales", "edit", "offer", "offers", "collection",
                 "doing", "performing", "going", "best", "this", "that", "with", "from", "last",
                 "week", "month", "year", "today", "revenue", "orders", "conversion", "what", "which",
                 "how's", "much", "many", "have", "does", "working", "performance", "results", "doing",
                 "products", "product", "items", "item", "sell", "selling", "seller", "sellers", "top"}
PLATFORM_NAMES = {"messenger": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp",
                  "playground": "Playground"}
# Intents whose question, when it names one of the tenant's products or campaigns, is about that
# product or campaign ("how is the Silk Scarf selling?", "revenue of the Diwali Drive").
NAMEABLE = ("overview", "revenue", "messages")
# "... vs last month", "compared to the previous week": the period is the current one.
COMPARED_WITH_LAST = r"\b(?:vs\.?|versus|than|to|with|against)\s+(?:the\s+)?(?:last|previous)\s+(week|month|year)\b"


def when(label: str) -> str:
    """A period's label as it reads inside a sentence ("in the last 30 days", "today")."""
    if re.match(r"\d{4}-\d\d-\d\d|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day \d", label):
        return f"from {label}" if " to " in label else f"on {label}"
    if label.startswith("the last") or label[:1].isupper() or label[:1].isdigit():
        return f"in {label}"
    return label


def _n(count, noun: str) -> str:
    """'1 order', '3 orders'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def intent_of(question: str) -> str:
    q = question.lower()
    for name, pattern in INTENTS:
        if re.search(pattern, q):
            return name
    return "overview"


def _distinct(text: str) -> str:
    """Text without the words every owner says ("campaigns", "sales", "this month"): what a
    near-miss spelling of a name is looked for in, so "campaign performance" is not "Camp-A"."""
    return " ".join(w for w in re.findall(r"\w[\w'-]*", text.lower())
                    if w not in GENERIC_WORDS and w.removesuffix("'s") not in GENERIC_WORDS)


def _named(question: str, rows: list[tuple[int, str]]) -> tuple[int, str] | None:
    """One of the tenant's own campaigns/products the question names (longest match wins):
    by its whole name, or by a near spelling of its distinctive words."""
    q, rest = question.lower(), _distinct(question)
    hits = [(len(name), cid, name) for cid, name in rows if len(name) >= 3 and (
        re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", q)
        or len(_distinct(name)) >= 6 and fuzz.partial_ratio(_distinct(name), rest) >= NAME_SCORE)]
    if not hits:
        return None
    _, cid, name = max(hits)
    return cid, name


def _words(text: str) -> list[str]:
    """Words of four letters or more, hyphens kept ("Camp-A" is not "Camp-B")."""
    return [w for w in re.findall(r"\w[\w'-]*\w", text.lower()) if len(w) >= 4]


def _named_by_word(question: str, rows: list[tuple[int, str]]) -> tuple[int, str] | None:
    """The one campaign a word of the question names by itself ("the Diwali campaign" for
    "Diwali Festive Edit"): a word of four letters or more found in that campaign's name and no
    other of the tenant's, and not one every owner says about campaigns anyway."""
    words = set(_words(question)) - GENERIC_WORDS
    owners: dict[str, set] = {}
    for cid, name in rows:
        for word in set(_words(name)) - GENERIC_WORDS:
            owners.setdefault(word, set()).add((cid, name))
    found = {only for word in words if len(owners.get(word, ())) == 1 for only in owners[word]}
    return found.pop() if len(found) == 1 else None


def _kind_name(kind: str, n: int) -> str:
    name = kind.replace("_", " ")
    if n == 1:
        return name
    return name[:-1] + "ies" if name.endswith("y") else name + "s"


OTHER_BUSINESS = re.compile(r"\b(competitors?|rivals?|other (shops?|stores?|business(es)?|brands?|sellers?|"
                            r"tenants?|clients?|companies|company))\b")
# Words whose possessive is about this business or a time, never another business.
OWN_POSSESSIVES = {"my", "our", "your", "what", "that", "it", "there", "here", "who", "how", "where", "let",
                   "he", "she", "this", "last", "today", "yesterday", "tonight", "day", "week", "month",
                   "quarter", "year", "shop", "store", "business", "brand", "company", "team", "leo", "ai",
                   "bot", "agent", "assistant", "campaign", "product", "customer", "customers", "everyone",
                   "instagram", "whatsapp", "messenger", "facebook", "insta", "diwali", "holi", "eid",
                   "christmas", "valentine", "mother", "father", "women", "men", "kids", "children"} | {
    m.lower() for m in list(calendar.month_name) + list(calendar.day_name) if m}
_POSSESSIVE = re.compile(r"([a-z0-9][\w&.-]*)['\u2019]s\b")


def _names_another_business(ctx: tools.LeoContext, question: str) -> bool:
    """A question about a competitor, or about someone's figures by a name ("Tenant B's revenue")
    that is none of this business's own names (its own, its products', its campaigns'). Told
    from the question and this tenant's names only: no other tenant's name is looked up."""
    q = question.lower()
    if OTHER_BUSINESS.search(q):
        return True
    owners = {m.group(1) for m in _POSSESSIVE.finditer(q)} - OWN_POSSESSIVES
    if not owners:
        return False
    own = set(_words(ctx.name)) | {w for name in [ctx.name] + [n for _, n in tools.own_products(ctx)]
                                   + [n for _, n in tools.own_campaigns(ctx)]
                                   for w in re.findall(r"[a-z0-9][\w&.-]*", name.lower())}
    return bool(owners - own)


class OfflineLeo:
    """answer(ctx, question) -> (text, figures)."""

    def answer(self, ctx: tools.LeoContext, question: str) -> tuple[str, dict]:
        read = spelling.corrected(question)  # intent, period and platform; names as typed
        intent = intent_of(read)
        period = parse_period(read, ctx.today) or default_period(ctx.today)
        baseline = re.search(COMPARED_WITH_LAST, read)
        if intent == "compare" and baseline and not re.search(r"\bthis (week|month|year)\b", read):
            # "how are we doing vs last month": this month, against the month before it
            period = parse_period(f"this {baseline.group(1)}", ctx.today)
        words = when(period.label)
        args = {"start": period.start.isoformat(), "end": period.end.isoformat()}
        platform = parse_platform(read)
        if platform:
            args["platform"] = platform
        if intent in NAMEABLE:  # "how is the Silk Scarf doing?" names one of the tenant's own
            if _named(question, tools.own_products(ctx)) is not None:
                intent = "products"
            elif _named(question, tools.own_campaigns(ctx)) is not None:
                intent = "campaigns"
        handler = getattr(self, f"_{intent}")
        where = f" on {PLATFORM_NAMES[platform]}" if platform else ""
        text, values = handler(ctx, question, args, words, where)
        if _names_another_business(ctx, question):
            text = f"I can only see {ctx.name}'s own figures, not another business's. For {ctx.name}: {text}"
        return text, {"intent": intent, "period": period.as_dict(),
                      "platform": platform, "values": values}

    # ------------------------------------------------------------------------ intents

    def _money(self, ctx, minor) -> str:
        return format_money(int(minor or 0), ctx.currency)

    def _revenue(self, ctx, question, args, words, where):
        s = tools.call(ctx, "summary", args)
        text = (f"Revenue {words}{where}: {self._money(ctx, s['revenue_minor'])} from {s['orders_paid']} paid "
                f"order{'s' if s['orders_paid'] != 1 else ''}")
        if s["orders_paid"]:
            text += f" (average {self._money(ctx, s['average_order_minor'])})"
        text += "."
        if s.get("refunds_minor"):
            text += f" Refunds: {self._money(ctx, s['refunds_minor'])}, already taken off."
        if s["orders_placed"] > s["orders_paid"]:
            text += f" {_n(s['orders_placed'], 'order')} {'was' if s['orders_placed'] == 1 else 'were'} placed in all."
        return text, fig.summary_figures(s, ctx.currency, ["revenue_minor", "orders_paid", "average_order_minor",
                                                           "orders_placed", "refunds_minor"])

    def _conversion(self, ctx, question, args, words, where):
        s = tools.call(ctx, "summary", args)
        converted = round(s["conversion_rate"] * s["conversations"])
        text = (f"Your conversion rate {words}{where} is {fig.percent(s['conversion_rate'])}: "
                f"{converted} of {s['conversations']} conversation{'s' if s['conversations'] != 1 else ''} "
                "led to a paid order.")
        if not s["conversations"]:
            text = f"No conversations {words}{where}, so there is no conversion rate yet."
        return text, fig.summary_figures(s, ctx.currency, ["conversion_rate", "conversations", "orders_paid",
                                                           "revenue_minor"])

    def _response(self, ctx, question, args, words, where):
        s = tools.call(ctx, "summary", args)
        text = (f"Median first response {words}{where}: {fig.duration(s['median_first_response_seconds'])}. "
                f"{fig.percent(s['response_rate'])} of customers wrote back after our first reply.")
        return text, fig.summary_figures(s, ctx.currency, ["median_first_response_seconds", "response_rate",
                                                           "conversations", "messages_received"])

    def _messages(self, ctx, question, args, words, where):
        s = tools.call(ctx, "summary", args)
        ai, staff = s.get("messages_sent_ai", 0), s.get("messages_sent_staff", 0)
        automatic = s["messages_sent"] - ai - staff  # rules, follow-ups, broadcasts, order notices
        text = (f"{_cap(words)}{where}: {_n(s['conversations'], 'conversation')}, {s['messages_received']} "
                f"messages received and {s['messages_sent']} sent ({ai} by the AI, {staff} by your team"
                + (f", {automatic} automatic: rules, follow-ups and order notices" if automatic > 0 else "")
                + ").")
        return text, fig.summary_figures(s, ctx.currency, ["conversations", "messages_received", "messages_sent",
                                                           "response_rate"])

    def _overview(self, ctx, question, args, words, where):
        s = tools.call(ctx, "summary", args)
        text = (f"{_cap(words)}{where}: {self._money(ctx, s['revenue_minor'])} revenue from "
                f"{_n(s['orders_paid'], 'paid order')}, {_n(s['conversations'], 'conversation')}, conversion rate "
                f"{fig.percent(s['conversion_rate'])}. Ask me about campaigns, products, platforms, "
                "response times, or what the AI promised.")
        return text, fig.summary_figures(s, ctx.currency, ["revenue_minor", "orders_paid", "conversations",
                                                           "conversion_rate"])

    def _ranked(self, ctx, by, args, words, where, noun):
        result = tools.call(ctx, "breakdown", {**args, "by": by})
        rows = [r for r in result.get("rows", []) if r.get("conversations") or r.get("orders_paid")
                or r.get("revenue_minor") or r.get("quantity")]
        if by == "platform":  # as the brands write themselves, not our keys
            rows = [{**r, "label": PLATFORM_NAMES.get(str(r.get("key")), r["label"])} for r in rows]
        if by == "product" and any(r.get("quantity") for r in rows):
            rows = [r for r in rows if r.get("quantity")]  # the best sellers: what sold
        # The row without a key holds what had no campaign / ad / conversation: shown after
        # the others for scale, never called the best campaign or ad.
        ranked = rows if by == "product" else [r for r in rows if r.get("key") is not None]
        rest = [r for r in rows if r not in ranked]
        if not ranked:
            text = f"No {noun.removesuffix('s')} activity {words}{where} yet."
            if rest:
                text += f" {_cap(self._part(ctx, by, rest[0]))}."
            return text, fig.row_figures(rest, ctx.currency, by=by)
        shown = ranked[:5] + rest
        text = (f"Best {noun} {words}{where}: {ranked[0]['label']}. "
                + "; ".join(self._part(ctx, by, r) for r in shown) + ".")
        return text, fig.row_figures(shown, ctx.currency, by=by)

    def _part(self, ctx, by, r) -> str:
        return (f"{r['label']}: {self._money(ctx, r['revenue_minor'])} from {r['orders_paid']} paid"
                + (f" ({r.get('quantity', 0)} sold)" if by == "product" else
                   f" of {_n(r['conversations'], 'conversation')}, {fig.percent(r['conversion_rate'])} converted"))

    def _campaigns(self, ctx, question, args, words, where):
        own = tools.own_campaigns(ctx)
        named = _named(question, own) or _named_by_word(question, own)
        if named is not None:
            s = tools.call(ctx, "summary", {**args, "campaign_id": named[0]})
            text = (f"{named[1]} {words}{where}: {_n(s['conversations'], 'conversation')}, "
                    f"{_n(s['orders_paid'], 'paid order')}, {self._money(ctx, s['revenue_minor'])} revenue, conversion "
                    f"{fig.percent(s['conversion_rate'])}.")
            return text, fig.summary_figures(s, ctx.currency, ["conversations", "orders_paid", "revenue_minor",
                                                               "conversion_rate"])
        return self._ranked(ctx, "campaign", args, words, where, "campaign")

    def _products(self, ctx, question, args, words, where):
        named = _named(question, tools.own_products(ctx))
        if named is not None:
            result = tools.call(ctx, "breakdown", {**args, "by": "product"})
            row = next((r for r in result.get("rows", []) if str(r.get("key")) == str(named[0])), None)
            if row is None:
                return f"{named[1]} had no paid orders {words}{where}.", []
            text = (f"{named[1]} {words}{where}: {row.get('quantity', 0)} sold in {row['orders_paid']} paid "
                    f"orders, {self._money(ctx, row['revenue_minor'])}.")
            return text, fig.row_figures([row], ctx.currency, by="product")
        return self._ranked(ctx, "product", args, words, where, "products")

    def _platforms(self, ctx, question, args, words, where):
        args = {k: v for k, v in args.items() if k != "platform"}
        return self._ranked(ctx, "platform", args, words, "", "platform")

    def _busiest(self, ctx, question, args, words, where):
        kind = "paid" if re.search(r"\b(pay|paid|buy|order)", question.lower()) else "inbound"
        h = tools.call(ctx, "heatmap", {**args, "kind": kind})
        noun = "customers pay" if kind == "paid" else "customers write"
        if not h["busiest"]:
            return f"No {'payments' if kind == 'paid' else 'messages'} {words}{where} yet.", []
        cells = [f"{calendar.day_name[c['weekday']]} {c['hour']:02d}:00-{(c['hour'] + 1) % 24:02d}:00 ({c['count']})"
                 for c in h["busiest"][:3]]
        text = f"{_cap(words)}{where} {noun} most on " + ", ".join(cells) + " (your local time)."
        return text, [{"label": f"{calendar.day_name[c['weekday']]} {c['hour']:02d}:00", "value": str(c["count"]),
                       "raw": c} for c in h["busiest"][:3]]

    def _closers(self, ctx, question, args, words, where):
        s = tools.call(ctx, "summary", args)
        ai, human = s.get("ai_closed_sales", 0), s.get("human_closed_sales", 0)
        if not ai + human:
            return f"No sales were closed {words}{where}.", []
        text = (f"{_cap(words)}{where} the AI closed {ai} sale{'s' if ai != 1 else ''} and your team {human} "
                f"(AI share {fig.percent(s.get('ai_share'))}).")
        if s.get("ai_closed_revenue_minor") is not None:
            text += (f" Revenue: {self._money(ctx, s['ai_closed_revenue_minor'])} by the AI, "
                     f"{self._money(ctx, s.get('human_closed_revenue_minor'))} by your team.")
        values = fig.summary_figures(s, ctx.currency, ["ai_closed_sales", "human_closed_sales"])
        values.append(fig.figure("AI share of closed sales", s.get("ai_share"), "rate", ctx.currency))
        return text, values

    def _compare(self, ctx, question, args, words, where):
        c = tools.call(ctx, "compare_periods", args)
        now, before = c["current"], c["previous"]
        span = f"{c['previous_period']['start']} to {c['previous_period']['end']}"

        def change(key, show):
            a, b = now.get(key) or 0, before.get(key) or 0
            delta = f" ({'+' if a >= b else '-'}{abs(a - b) / b * 100:.0f}%)" if b else ""
            return f"{show(a)} against {show(b)}{delta}"

        text = (f"{_cap(words)}{where} compared with the same number of days before ({span}): revenue "
                f"{change('revenue_minor', lambda v: self._money(ctx, v))}; paid orders "
                f"{change('orders_paid', str)}; conversations {change('conversations', str)}; conversion "
                f"{fig.percent(now['conversion_rate'])} against {fig.percent(before['conversion_rate'])}.")
        keys = ["revenue_minor", "orders_paid", "conversations", "conversion_rate"]
        values = fig.summary_figures(now, ctx.currency, keys)
        values += [{**v, "label": v["label"] + " (period before)"} for v in fig.summary_figures(before, ctx.currency, keys)]
        return text, values

    def _ads(self, ctx, question, args, words, where):
        return self._ranked(ctx, "ad", args, words, where, "ads")

    def _promises(self, ctx, question, args, words, where):
        p = tools.call(ctx, "ai_promises", args)
        kinds = p["by_kind"]
        if not p["promises"]:
            return f"The AI made no price, discount, delivery or order-number claims {words}.", []
        counts = ", ".join(f"{v['count']} {_kind_name(k, v['count'])}" for k, v in kinds.items() if v["count"])
        text = f"{_cap(words)} the AI stated {counts}."
        # With nothing on record a promise is unverifiable: neither a match nor a mismatch.
        unchecked = sum(v["unchecked"] for v in kinds.values())
        if p["mismatches"]:
            text += f" {p['mismatches']} did not match your records:"
            text += "".join(f" {e['kind'].replace('_', ' ')} {e['stated']} (on record: {e['on_record']})"
                            f" in conversation #{e['conversation_id']};" for e in p["examples"])
            text = text.rstrip(";") + "."
            if unchecked:
                text += f" {unchecked} could not be checked (nothing on record to compare with)."
            text += " See AI Promises for the full log."
        elif unchecked:
            text += (f" {p['promises'] - unchecked} matched your records; {unchecked} could not be checked "
                     "(nothing on record to compare with). See AI Promises for the full log.")
        else:
            text += " Every one matched your catalog, offers and policies."
        values = [{"label": k.replace("_", " ").capitalize() + "s", "value": f"{v['count']} ({v['mismatches']} mismatched)",
                   "raw": v} for k, v in kinds.items() if v["count"]]
        return text, values

    def _improve(self, ctx, question, args, words, where):
        cmp_ = tools.call(ctx, "compare_periods", args)
        now, before = cmp_["current"], cmp_["previous"]
        funnel = tools.call(ctx, "funnel", args)
        tips = []
        if not now["conversations"]:
            tips.append(f"no conversations {words}{where}: start an active campaign and point an ad or "
                        "your bio link at a chat")
        else:
            if funnel["ordered"] > funnel["paid"]:
                gap = funnel["ordered"] - funnel["paid"]
                tips.append(f"{gap} of {funnel['ordered']} conversations that ordered never paid: follow up "
                            "on unpaid payment links")
            if now["response_rate"] < 0.5:
                tips.append(f"only {fig.percent(now['response_rate'])} of customers wrote back after the first "
                            "reply: open with a question about what they need")
            first = now.get("median_first_response_seconds")
            if first is not None and first > 300:
                tips.append(f"first replies take {fig.duration(first)} (median): keep conversations in AI mode "
                            "when nobody is watching the inbox")
            if before["conversations"] and now["conversion_rate"] < before["conversion_rate"]:
                tips.append(f"conversion fell from {fig.percent(before['conversion_rate'])} to "
                            f"{fig.percent(now['conversion_rate'])} compared with the period before")
        camps = tools.call(ctx, "breakdown", {**args, "by": "campaign"})
        active = [r for r in camps.get("rows", []) if (r.get("conversations") or 0) >= 3]
        if len(active) >= 2:
            best = max(active, key=lambda r: r["conversion_rate"])
            worst = min(active, key=lambda r: r["conversion_rate"])
            if best["conversion_rate"] > worst["conversion_rate"]:
                tips.append(f"{best['label']} converts {fig.percent(best['conversion_rate'])} against "
                            f"{fig.percent(worst['conversion_rate'])} for {worst['label']}: reuse its greeting "
                            "and offer, or move spend to it")
        promised = tools.call(ctx, "ai_promises", args)
        if promised["mismatches"]:
            tips.append(f"the AI stated {promised['mismatches']} things that contradict your records: check "
                        "AI Promises and correct the catalog or policies")
        if not tips:
            tips.append(f"conversion is {fig.percent(now['conversion_rate'])} and revenue "
                        f"{self._money(ctx, now['revenue_minor'])}; nothing stands out as broken, so test a "
                        "new campaign greeting against the current one")
        text = f"Based on {words.removeprefix('in ')}{where}: " + "; ".join(tips) + "."
        values = fig.summary_figures(now, ctx.currency, ["conversations", "conversion_rate", "response_rate",
                                                         "median_first_response_seconds", "revenue_minor"])
        values.append(fig.figure("Conversion rate (period before)", before["conversion_rate"], "rate", ctx.currency))
        values.append(fig.figure("Ordered but not paid", funnel["ordered"] - funnel["paid"], "count", ctx.currency))
        return text, values
