"""Deterministic generator of natural-ish English sentences for the synthetic speech corpus.

Sentences come from a small grammar (statements in several tenses, questions, imperatives,
weather, time and number sentences) over word lists kept in this module. Nouns are grouped in
semantic classes and every verb names the classes it may take as object, so the output reads
like plain English rather than word salad ("she fed the hungry ducks yesterday", not "she ate
the bridge").

Texts contain only lowercase ASCII letters, single spaces and apostrophes, and have 3 to 12
words. ``make_sentences(n, seed)`` returns ``n`` distinct sentences and is prefix-stable: the
first ``k`` sentences for a seed do not depend on ``n``, which lets callers carve disjoint
splits (test first, then dev, then train) that stay fixed when the train size changes.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
from recipes.common import unique_texts  # noqa: E402

MIN_WORDS = 3
MAX_WORDS = 12
VALID_TEXT = re.compile(r"[a-z']+( [a-z']+)*")


def _words(text: str) -> tuple[str, ...]:
    """Split a whitespace/comma separated word list; '_' inside an entry stands for a space."""
    return tuple(w.replace("_", " ") for w in text.replace(",", " ").split())


# --------------------------------------------------------------------------------------------
# Word lists. Nouns: "singular" or "singular/plural" for irregular plurals, "singular/-" for
# mass nouns that take no plural. '_' joins multi-word nouns ("post_office").
# --------------------------------------------------------------------------------------------

NAMES = _words(
    """john mary david sarah michael emma james anna robert lucy peter kate tom laura paul helen
    mark jane daniel sophie chris alice george emily sam grace ben rachel jack olivia harry ella
    oliver hannah william chloe henry amy charlie lily joe rose frank susan steve linda tony nancy
    adam julia max nina leo maria carlos ahmed yuki priya omar fatima ivan elena hugo clara victor
    diana simon ruth martin karen andrew betty kevin jessica brian molly eric zoe oscar ruby"""
)

CITIES = _words(
    """london paris rome berlin madrid tokyo dublin boston chicago toronto sydney new_york cairo
    lisbon vienna prague moscow athens oslo amsterdam brussels geneva edinburgh glasgow
    manchester liverpool seattle denver dallas miami montreal vancouver melbourne delhi mumbai
    istanbul warsaw budapest stockholm helsinki copenhagen venice naples milan barcelona"""
)

COUNTRIES = _words(
    """mexico india china japan spain france italy germany canada brazil egypt kenya scotland
    ireland wales england america australia norway sweden greece peru chile portugal poland
    texas california florida iceland morocco argentina"""
)

PEOPLE = _words(
    """teacher doctor nurse farmer driver student child/children man/men woman/women boy girl
    baby neighbour friend brother sister mother father uncle aunt cousin grandmother grandfather
    wife/wives husband son daughter boss manager waiter cook pilot police_officer scientist
    artist singer player writer lawyer engineer soldier guard painter baker builder customer
    visitor stranger tourist captain king queen prince princess guest kid professor dentist
    mechanic librarian postman/postmen fisherman/fishermen shopkeeper musician dancer judge actor
    clerk classmate colleague roommate"""
)

ANIMALS = _words(
    """dog cat horse cow sheep/sheep pig goat chicken duck goose/geese mouse/mice rabbit bird
    fish/fish bear wolf/wolves fox lion tiger elephant monkey snake frog owl deer/deer squirrel
    puppy kitten donkey camel whale dolphin bee spider butterfly turtle parrot zebra giraffe crow"""
)

FOOD = _words(
    """apple banana orange egg sandwich cake cookie potato/potatoes tomato/tomatoes carrot onion
    lemon peach pear grape strawberry cherry pie pizza burger biscuit muffin pancake sausage
    bread/- rice/- soup/- cheese/- butter/- meat/- pasta/- salad/- chocolate/- honey/- jam/-
    toast/- cereal/- popcorn/- ice_cream/-"""
)

DRINKS = _words("water/- milk/- coffee/- tea/- juice/- lemonade/- hot_chocolate/- orange_juice/-")

READABLES = _words(
    """book letter newspaper magazine story poem note message email report novel map menu recipe
    article list diary postcard timetable"""
)

SMALL_THINGS = _words(
    """key bag box phone wallet umbrella bottle cup glass plate bowl spoon fork knife/knives pen
    pencil notebook camera watch clock lamp candle blanket pillow towel basket bucket rope ball
    toy hammer ladder brush mirror radio computer laptop ticket coin card gift present parcel
    envelope jar kettle pan pot ring necklace suitcase backpack picture photo flower plant stone
    shell leaf/leaves feather flag battery torch helmet cushion vase puzzle"""
)

BIG_THINGS = _words(
    """chair table desk sofa bed shelf/shelves cupboard fridge door window fence wall gate roof
    floor carpet bookcase wardrobe oven"""
)

CLOTHES = _words(
    """shirt coat jacket hat scarf/scarves dress skirt sweater sock shoe boot glove belt tie
    uniform cap raincoat"""
)

VEHICLES = _words(
    """car bus train truck van bike bicycle boat ship plane taxi tractor motorbike scooter
    helicopter ferry tram"""
)

PLACES = _words(
    """park school library kitchen garden station market beach hospital office museum church
    bank shop restaurant cafe hotel airport river lake forest farm village city town bridge
    mountain hill field street road corner square cinema theatre zoo harbour island castle
    bakery pharmacy supermarket stadium playground garage basement attic bathroom bedroom hall
    classroom factory post_office bus_stop cottage tower valley pool gym"""
)

INSTRUMENTS = _words("piano guitar violin drum flute trumpet harp cello saxophone banjo")

GAMES = _words("football/- tennis/- chess/- cards/- basketball/- golf/- cricket/- baseball/- volleyball/- hockey/-")

EVENTS = _words(
    """party meeting lesson class exam concert game match film movie show trip journey holiday
    wedding picnic interview race festival"""
)

# Things that open and close.
OPENABLES = _words("door window box bag gate drawer jar shop bottle book umbrella suitcase")

WEEKDAYS = _words("monday tuesday wednesday thursday friday saturday sunday")
MONTHS = _words("january february march april may june july august september october november december")
SEASONS = _words("spring summer autumn winter")

ONES = _words("one two three four five six seven eight nine")
TEENS = _words("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen")
TENS = _words("twenty thirty forty fifty sixty seventy eighty ninety")
ORDINALS = _words("first second third fourth fifth sixth seventh eighth ninth tenth")

COLOURS = _words("red blue green yellow black white brown grey pink purple golden silver")

# Adjectives per noun class; the same word may serve several classes.
ADJ_PERSON = _words(
    """happy sad tired hungry thirsty angry busy kind young old tall short clever brave quiet
    loud friendly nervous lazy polite honest funny serious shy proud lucky worried excited calm
    careful famous rich poor strong sick bored sleepy patient cheerful lonely gentle strict wise
    curious generous confused surprised"""
)
ADJ_ANIMAL = _words(
    """big small little old young hungry friendly lazy sleepy noisy wild brown black white grey
    fat thin clever fast slow tiny huge cute fluffy spotted shy"""
)
ADJ_FOOD = _words(
    """fresh sweet hot cold warm spicy delicious ripe tasty salty sour crunchy soft cheap homemade
    big burnt frozen juicy"""
)
ADJ_DRINK = _words("hot cold warm fresh sweet strong cheap")
ADJ_THING = COLOURS + _words(
    """big small little large tiny huge old new heavy light long short clean dirty broken empty
    full shiny wooden plastic metal soft hard cheap expensive strange beautiful useful favourite
    spare wet dry round modern ancient plain bright dark"""
)
ADJ_PLACE = _words(
    """quiet busy crowded old new small big beautiful empty dark clean noisy nearby famous lovely
    peaceful huge tiny modern ancient local little cold warm sunny"""
)
ADJ_READ = _words(
    """long short old new interesting boring funny strange sad exciting secret important scary
    beautiful simple difficult"""
)
ADJ_VEHICLE = COLOURS[:8] + _words("old new fast slow big small noisy shiny broken empty crowded early late")
ADJ_CLOTHES = COLOURS[:8] + _words(
    "warm old new clean dirty woollen cotton thick thin long short striped bright favourite"
)
ADJ_INSTRUMENT = _words("old new wooden small big broken expensive beautiful favourite electric")
ADJ_EVENT = _words("long short boring exciting important big small school family surprise")

ADV_MANNER = _words(
    """quickly slowly carefully quietly loudly happily sadly gently softly easily badly well hard
    suddenly patiently politely nervously proudly calmly angrily eagerly silently
    together alone again properly secretly bravely lazily kindly neatly"""
)
ADV_FREQUENCY = _words("always usually often sometimes never rarely")
ADV_PAST = _words(
    """yesterday last_night last_week last_month last_year this_morning earlier two_days_ago
    an_hour_ago a_moment_ago on_monday on_friday_night in_the_morning after_lunch"""
)
ADV_FUTURE = _words(
    """tomorrow tonight soon later next_week next_month next_year this_afternoon this_evening
    on_saturday in_the_morning after_dinner in_two_days at_the_weekend"""
)
ADV_HABIT = _words(
    """every_day every_morning every_evening every_weekend every_summer once_a_week twice_a_day
    on_sundays at_night in_the_evening after_school before_breakfast"""
)
ADV_PERFECT = _words("recently this_week this_year before since_monday twice")

PREP_LOCATION = _words("in on under behind near beside next_to in_front_of inside outside above below")
PREP_PLACE = _words("in at near behind outside inside next_to across_from")

PRONOUNS = {  # subject -> (object, possessive, agreement)
    "i": ("me", "my", "1sg"),
    "you": ("you", "your", "2"),
    "he": ("him", "his", "3sg"),
    "she": ("her", "her", "3sg"),
    "we": ("us", "our", "pl"),
    "they": ("them", "their", "pl"),
}
POSSESSIVES = _words("my your his her our their")


# --------------------------------------------------------------------------------------------
# Nouns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Noun:
    """A noun with its plural (None for mass nouns, which take no article or plural)."""

    singular: str
    plural: str | None


def _plural(word: str) -> str:
    """Regular English plural of the last word of ``word``."""
    if word.endswith(("s", "sh", "ch", "x", "z")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _nouns(entries: Iterable[str]) -> tuple[Noun, ...]:
    """Parse "word", "word/plural" and "word/-" entries into Nouns."""
    out = []
    for entry in entries:
        singular, _, plural = entry.partition("/")
        if plural == "-":
            out.append(Noun(singular, None))
        else:
            out.append(Noun(singular, plural.replace("_", " ") or _plural(singular)))
    return tuple(out)


# Noun class -> (nouns, adjectives that fit them).
NOUN_CLASSES: dict[str, tuple[tuple[Noun, ...], tuple[str, ...]]] = {
    "person": (_nouns(PEOPLE), ADJ_PERSON),
    "animal": (_nouns(ANIMALS), ADJ_ANIMAL),
    "food": (_nouns(FOOD), ADJ_FOOD),
    "drink": (_nouns(DRINKS), ADJ_DRINK),
    "read": (_nouns(READABLES), ADJ_READ),
    "small": (_nouns(SMALL_THINGS), ADJ_THING),
    "big": (_nouns(BIG_THINGS), ADJ_THING),
    "clothes": (_nouns(CLOTHES), ADJ_CLOTHES),
    "vehicle": (_nouns(VEHICLES), ADJ_VEHICLE),
    "place": (_nouns(PLACES), ADJ_PLACE),
    "instrument": (_nouns(INSTRUMENTS), ADJ_INSTRUMENT),
    "game": (_nouns(GAMES), ()),
    "event": (_nouns(EVENTS), ADJ_EVENT),
    "openable": (_nouns(OPENABLES), ADJ_THING),
}


# --------------------------------------------------------------------------------------------
# Verbs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verb:
    """A verb with all the forms the grammar needs, plus an optional particle ("look for")."""

    base: str
    third: str
    past: str
    participle: str
    ing: str
    particle: str = ""
    objects: tuple[str, ...] = ()


def _third(base: str) -> str:
    """Third person singular present ("goes", "carries", "waits")."""
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    return base + "s"


def _past_regular(base: str, double: bool) -> str:
    """Regular past tense; ``double`` repeats the final consonant ("stopped")."""
    if double:
        return base + base[-1] + "ed"
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    return base + "ed"


def _ing(base: str, double: bool) -> str:
    """Present participle ("making", "lying", "running", "seeing")."""
    if double:
        return base + base[-1] + "ing"
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")) and base != "be":
        return base[:-1] + "ing"
    return base + "ing"


def _verb(spec: str, objects: str = "") -> Verb:
    """Build a Verb from "base[*] [past [participle]]" where '*' doubles the final consonant
    for regular endings and '+particle' adds a particle: "look+for", "run* ran run"."""
    parts = spec.split()
    head, _, particle = parts[0].partition("+")
    double = head.endswith("*")
    base = head.rstrip("*")
    past = parts[1] if len(parts) > 1 else _past_regular(base, double)
    participle = parts[2] if len(parts) > 2 else past
    return Verb(
        base,
        _third(base),
        past,
        participle,
        _ing(base, double),
        particle.replace("_", " "),
        tuple(objects.split()),
    )


THING = "small big clothes vehicle instrument"
TRANSITIVE = (
    _verb("eat ate eaten", "food"),
    _verb("cook", "food"),
    _verb("bake baked", "food"),
    _verb("buy bought", "food drink read small big clothes vehicle instrument"),
    _verb("sell sold", "food read small big vehicle instrument"),
    _verb("want", f"food drink read {THING}"),
    _verb("need", f"food drink read {THING}"),
    _verb("like", f"food drink read animal game {THING}"),
    _verb("love", "food drink animal game person instrument"),
    _verb("hate", "food drink game"),
    _verb("find found", "small read animal clothes"),
    _verb("lose lost", "small read clothes"),
    _verb("bring brought", "small food drink read"),
    _verb("carry", "small food big"),
    _verb("take took taken", "small food read"),
    _verb("drop* dropped", "small food"),
    _verb("hide hid hidden", "small read food"),
    _verb("keep kept", "small read"),
    _verb("move", "big vehicle"),
    _verb("clean", "big small vehicle place"),
    _verb("fix", "small big vehicle instrument"),
    _verb("repair", "small big vehicle"),
    _verb("paint", "big vehicle"),
    _verb("open", "openable"),
    _verb("close", "openable"),
    _verb("read read", "read"),
    _verb("write wrote written", "read"),
    _verb("send sent", "read"),
    _verb("drink drank drunk", "drink"),
    _verb("pour", "drink"),
    _verb("wear wore worn", "clothes"),
    _verb("wash", "clothes small vehicle"),
    _verb("fold", "clothes"),
    _verb("drive drove driven", "vehicle"),
    _verb("park", "vehicle"),
    _verb("ride rode ridden", "vehicle animal"),
    _verb("feed fed", "animal person"),
    _verb("chase", "animal"),
    _verb("watch", "animal person event"),
    _verb("see saw seen", "animal person vehicle event"),
    _verb("meet met", "person"),
    _verb("call", "person"),
    _verb("visit", "person place"),
    _verb("help", "person"),
    _verb("thank", "person"),
    _verb("invite", "person"),
    _verb("follow", "person animal"),
    _verb("teach taught", "person"),
    _verb("wake woke woken", "person"),
    _verb("miss", "person event vehicle"),
    _verb("remember", "person event"),
    _verb("forget* forgot forgotten", "person event small"),
    _verb("hug* hugged", "person"),
    _verb("trust", "person"),
    _verb("pay paid", "person"),
    _verb("play", "instrument game"),
    _verb("practise", "instrument game"),
    _verb("learn", "game instrument"),
    _verb("enjoy", "food event game"),
    _verb("plan* planned", "event"),
    _verb("organise", "event"),
    _verb("cancel* cancelled", "event"),
    _verb("catch caught", "vehicle animal"),
    _verb("build built", "big"),
    _verb("draw drew drawn", "animal person place"),
    _verb("check", "read small vehicle"),
    _verb("order", "food drink"),
    _verb("share", "food read"),
    _verb("borrow", "small read vehicle instrument"),
    _verb("return", "small read"),
    _verb("pack", "small clothes food"),
    _verb("count", "animal small"),
    _verb("look+for", "small read animal person clothes"),
    _verb("look+at", "small read animal person vehicle place"),
    _verb("listen+to", "person"),
    _verb("pick+up", "small read clothes"),
    _verb("put+away put put", "small read clothes"),
    _verb("throw+away threw thrown", "small food read"),
    _verb("wait+for", "person vehicle"),
    _verb("talk+to", "person"),
    _verb("point+at", "animal person vehicle"),
    _verb("search+for", "small animal person"),
)

INTRANSITIVE = (
    _verb("sleep slept"),
    _verb("run* ran run"),
    _verb("walk"),
    _verb("laugh"),
    _verb("cry"),
    _verb("smile"),
    _verb("swim* swam swum"),
    _verb("dance"),
    _verb("wait"),
    _verb("work"),
    _verb("travel* travelled"),
    _verb("sit* sat"),
    _verb("stand stood"),
    _verb("rest"),
    _verb("shout"),
    _verb("jump"),
    _verb("study"),
    _verb("sing sang sung"),
    _verb("relax"),
    _verb("play"),
    _verb("cook"),
    _verb("read read"),
    _verb("paint"),
    _verb("climb"),
    _verb("stay"),
    _verb("sneeze"),
    _verb("yawn"),
    _verb("whisper"),
    _verb("wave"),
    _verb("snore"),
    _verb("cheer"),
    _verb("complain"),
    _verb("practise"),
    _verb("hide hid hidden"),
    _verb("write wrote written"),
)

# Verbs of motion that take "to PLACE" / "home".
MOTION = (
    _verb("go went gone"),
    _verb("come came come"),
    _verb("walk"),
    _verb("run* ran run"),
    _verb("drive drove driven"),
    _verb("fly flew flown"),
    _verb("travel* travelled"),
    _verb("return"),
    _verb("move"),
    _verb("hurry"),
    _verb("cycle"),
    _verb("sail"),
    _verb("swim* swam swum"),
)

# Verbs an animal can plausibly be the subject of.
ANIMAL_TRANSITIVE = frozenset(
    _words("eat drink chase find hide catch follow watch see like love carry drop bring look")
)
ANIMAL_INTRANSITIVE = frozenset(_words("sleep run walk swim jump sit stand rest hide climb wait yawn sneeze snore"))

BE_PRESENT = {"1sg": "am", "2": "are", "3sg": "is", "pl": "are"}
BE_PAST = {"1sg": "was", "2": "were", "3sg": "was", "pl": "were"}
MODALS = _words("can could should must might would")

# "an" before these despite a consonant letter, and "a" before these despite a vowel letter.
AN_EXCEPTIONS = frozenset(_words("hour honest"))
A_EXCEPTIONS = frozenset(_words("one uniform useful university european"))


# --------------------------------------------------------------------------------------------
# Phrase builders. Each takes the Random and returns text; "agr" is one of 1sg, 2, 3sg, pl.
# --------------------------------------------------------------------------------------------


def _indefinite(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    first = word.split()[0]
    if first in AN_EXCEPTIONS:
        return "an"
    if first in A_EXCEPTIONS:
        return "a"
    return "an" if first[0] in "aeiou" else "a"


def _number(rng: random.Random, low: int = 2, high: int = 99) -> tuple[str, int]:
    """A spelled-out cardinal between ``low`` and ``high`` and its value."""
    value = rng.randint(low, high)
    return _spell(value), value


def _spell(value: int) -> str:
    """Spell 1..9999 in words ("twenty three", "one hundred and five")."""
    if value < 10:
        return ONES[value - 1]
    if value < 20:
        return TEENS[value - 10]
    if value < 100:
        tens, ones = divmod(value, 10)
        return TENS[tens - 2] + (" " + ONES[ones - 1] if ones else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return ONES[hundreds - 1] + " hundred" + (" and " + _spell(rest) if rest else "")
    thousands, rest = divmod(value, 1000)
    return _spell(thousands) + " thousand" + (" and " + _spell(rest) if rest else "")


def _year(rng: random.Random) -> str:
    """A year read the usual way: "nineteen eighty four", "two thousand and ten"."""
    year = rng.randint(1950, 2024)
    if year >= 2000:
        return _spell(year)
    century, rest = divmod(year, 100)
    return _spell(century) + " " + _spell(rest)


def _clock(rng: random.Random) -> str:
    """A clock time such as "seven o'clock", "half past nine", "ten fifteen"."""
    hour = _spell(rng.randint(1, 12))
    style = rng.randrange(4)
    if style == 0:
        return f"{hour} o'clock"
    if style == 1:
        return f"{rng.choice(('half past', 'quarter past', 'quarter to'))} {hour}"
    if style == 2:
        return f"{hour} {rng.choice(('fifteen', 'thirty', 'forty five', 'twenty', 'ten'))}"
    return "noon" if rng.random() < 0.5 else "midnight"


def _adjective(rng: random.Random, cls: str, prob: float) -> str:
    """An adjective fitting ``cls`` followed by a space, with probability ``prob``, else ''."""
    adjectives = NOUN_CLASSES[cls][1]
    if adjectives and rng.random() < prob:
        return rng.choice(adjectives) + " "
    return ""


def noun_phrase(rng: random.Random, cls: str, adj_prob: float = 0.35, allow_plural: bool = True) -> tuple[str, str]:
    """A determiner + optional adjective + noun of class ``cls``; returns (text, agreement)."""
    noun = rng.choice(NOUN_CLASSES[cls][0])
    adj = _adjective(rng, cls, adj_prob)
    if cls == "game":  # "play chess", never "play the chess"
        return noun.singular, "3sg"
    if noun.plural is None:  # mass noun: no article or a quantifier
        det = rng.choice(("the", "the", "some", "my", "your", "our", ""))
        return (f"{det} {adj}{noun.singular}".strip(), "3sg")
    if allow_plural and rng.random() < 0.35:
        det = rng.choice(("the", "the", "some", "these", "those", "my", "our", "their", "two", "three", "_num"))
        if det == "_num":
            det = _number(rng, 2, 20)[0]
        return (f"{det} {adj}{noun.plural}".strip(), "pl")
    det = rng.choice(("the", "the", "the", "a", "a", "my", "your", "his", "her", "this", "that", "our"))
    if det == "a":
        det = _indefinite(adj or noun.singular)
    return (f"{det} {adj}{noun.singular}", "3sg")


def subject(rng: random.Random, animals: bool = False) -> tuple[str, str]:
    """A sentence subject: pronoun, name or noun phrase of a person (or, where the verb suits
    one, of an animal)."""
    roll = rng.random()
    if roll < 0.35:
        pronoun = rng.choice(tuple(PRONOUNS))
        return pronoun, PRONOUNS[pronoun][2]
    if roll < 0.6:
        if rng.random() < 0.15:
            return f"{rng.choice(NAMES)} and {rng.choice(NAMES)}", "pl"
        return rng.choice(NAMES), "3sg"
    if roll < 0.65:
        return f"{rng.choice(NAMES)}'s {rng.choice(NOUN_CLASSES['person'][0]).singular}", "3sg"
    return noun_phrase(rng, "animal" if animals and rng.random() < 0.4 else "person", adj_prob=0.25)


def person_object(rng: random.Random) -> str:
    """An object that refers to a person: object pronoun, name or noun phrase."""
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(("me", "you", "him", "her", "us", "them"))
    if roll < 0.6:
        return rng.choice(NAMES)
    return noun_phrase(rng, "person")[0]


def object_phrase(rng: random.Random, verb: Verb) -> str:
    """An object noun phrase whose class the verb accepts."""
    cls = rng.choice(verb.objects)
    if cls == "person":
        return person_object(rng)
    if cls == "place" and rng.random() < 0.4:
        return rng.choice(CITIES + COUNTRIES)
    return noun_phrase(rng, cls)[0]


def place_phrase(rng: random.Random) -> str:
    """A locative phrase: "in the park", "at the station", "in paris"."""
    if rng.random() < 0.25:
        return "in " + rng.choice(CITIES + COUNTRIES)
    prep = rng.choice(PREP_PLACE)
    return f"{prep} {noun_phrase(rng, 'place', adj_prob=0.2, allow_plural=False)[0]}"


def destination(rng: random.Random) -> str:
    """Where a motion verb goes: "home", "to the market", "to london"."""
    roll = rng.random()
    if roll < 0.15:
        return "home"
    if roll < 0.45:
        return "to " + rng.choice(CITIES + COUNTRIES)
    return "to " + noun_phrase(rng, "place", adj_prob=0.2, allow_plural=False)[0]


TENSES = (
    "present",
    "past",
    "past",
    "future",
    "going_to",
    "progressive",
    "past_progressive",
    "perfect",
    "modal",
    "neg_present",
    "neg_past",
    "neg_future",
)


def verb_group(rng: random.Random, verb: Verb, tense: str, agr: str) -> str:
    """Conjugate ``verb`` for ``tense`` and subject agreement ``agr`` (particle included)."""
    forms = {
        "present": lambda: verb.third if agr == "3sg" else verb.base,
        "past": lambda: verb.past,
        "future": lambda: "will " + verb.base,
        "going_to": lambda: f"{BE_PRESENT[agr]} going to {verb.base}",
        "progressive": lambda: f"{BE_PRESENT[agr]} {verb.ing}",
        "past_progressive": lambda: f"{BE_PAST[agr]} {verb.ing}",
        "perfect": lambda: (
            ("has " if agr == "3sg" else "have ")
            + _maybe(rng, 0.3, lambda: rng.choice(("already ", "just ", "never ")))
            + verb.participle
        ),
        "modal": lambda: f"{rng.choice(MODALS)} {verb.base}",
        "neg_present": lambda: ("doesn't " if agr == "3sg" else "don't ") + verb.base,
        "neg_past": lambda: "didn't " + verb.base,
        "neg_future": lambda: rng.choice(("won't ", "can't ")) + verb.base,
    }
    words = forms[tense]()
    if tense in ("present", "past") and rng.random() < 0.2:
        words = f"{rng.choice(ADV_FREQUENCY)} {words}"  # "she often reads"
    return f"{words} {verb.particle}".strip()


def time_phrase(rng: random.Random, tense: str) -> str:
    """A time adverbial that agrees with the tense, or '' for tenses that take none."""
    pools: dict[str, tuple[str, ...]] = {
        "past": ADV_PAST,
        "neg_past": ADV_PAST,
        "past_progressive": ADV_PAST,
        "future": ADV_FUTURE,
        "going_to": ADV_FUTURE,
        "neg_future": ADV_FUTURE,
        "modal": ADV_FUTURE,
        "present": ADV_HABIT,
        "neg_present": ADV_HABIT,
        "perfect": ADV_PERFECT,
        "progressive": _words("now right_now today at_the_moment this_week"),
    }
    pool = pools.get(tense, ())
    if not pool:
        return ""
    return rng.choice(pool)


def _join(*parts: str) -> str:
    """Join non-empty parts with single spaces."""
    return " ".join(p for p in parts if p)


def _maybe(rng: random.Random, prob: float, make: Callable[[], str]) -> str:
    """``make()`` with probability ``prob``, else ''."""
    return make() if rng.random() < prob else ""


# --------------------------------------------------------------------------------------------
# Sentence templates
# --------------------------------------------------------------------------------------------


def t_transitive(rng: random.Random) -> str:
    """Subject verb object [place] [manner] [time]: "my sister bought a red coat yesterday"."""
    verb = rng.choice(TRANSITIVE)
    subj, agr = subject(rng, animals=verb.base in ANIMAL_TRANSITIVE)
    tense = rng.choice(TENSES)
    time = _maybe(rng, 0.5, lambda: time_phrase(rng, tense))
    manner = _maybe(rng, 0.15, lambda: rng.choice(ADV_MANNER))
    place = _maybe(rng, 0.25, lambda: place_phrase(rng))
    body = _join(subj, verb_group(rng, verb, tense, agr), object_phrase(rng, verb), place, manner)
    return _join(time, body) if time and rng.random() < 0.3 else _join(body, time)


def t_intransitive(rng: random.Random) -> str:
    """Subject verb [manner] [place] [time]: "the children laughed loudly in the garden"."""
    verb = rng.choice(INTRANSITIVE)
    subj, agr = subject(rng, animals=verb.base in ANIMAL_INTRANSITIVE)
    tense = rng.choice(TENSES)
    return _join(
        subj,
        verb_group(rng, verb, tense, agr),
        _maybe(rng, 0.4, lambda: rng.choice(ADV_MANNER)),
        _maybe(rng, 0.6, lambda: place_phrase(rng)),
        _maybe(rng, 0.5, lambda: time_phrase(rng, tense)),
    )


def t_motion(rng: random.Random) -> str:
    """Subject goes somewhere: "we will drive to edinburgh next week"."""
    subj, agr = subject(rng, animals=True)
    verb = rng.choice(MOTION)
    tense = rng.choice(("present", "past", "past", "future", "going_to", "progressive", "modal", "neg_past"))
    via = _maybe(rng, 0.2, lambda: "by " + rng.choice(_words("bus train car taxi bike boat plane")))
    if verb.base in ("drive", "fly", "cycle", "sail", "swim", "run", "walk"):
        via = ""  # "drove to paris by car" is redundant
    return _join(
        subj,
        verb_group(rng, verb, tense, agr),
        destination(rng),
        via,
        _maybe(rng, 0.6, lambda: time_phrase(rng, tense)),
    )


def t_copula(rng: random.Random) -> str:
    """Descriptions: "the old library is very quiet", "john was tired after the trip"."""
    roll = rng.random()
    tense_be = BE_PRESENT if rng.random() < 0.6 else BE_PAST
    if roll < 0.4:
        subj, agr = subject(rng)
        adj = rng.choice(ADJ_PERSON)
    else:
        cls = rng.choice(("food", "place", "read", "small", "vehicle", "clothes", "event", "animal"))
        subj, agr = noun_phrase(rng, cls, adj_prob=0.0)
        adj = rng.choice(NOUN_CLASSES[cls][1])
    agr = "pl" if agr == "2" else agr
    intensifier = _maybe(rng, 0.35, lambda: rng.choice(_words("very really quite so too rather a_bit")))
    tail = _maybe(rng, 0.3, lambda: rng.choice(("today", "again", "this morning", "after the trip", "at first")))
    return _join(subj, tense_be[agr], intensifier, adj, tail)


def t_location(rng: random.Random) -> str:
    """Where things are: "the keys are under the red cushion", "there is a cat on the roof"."""
    cls = rng.choice(("small", "small", "read", "clothes", "food", "animal"))
    where = f"{rng.choice(PREP_LOCATION)} {noun_phrase(rng, rng.choice(('big', 'small', 'place')), 0.25, False)[0]}"
    if rng.random() < 0.5:
        noun = rng.choice(NOUN_CLASSES[cls][0])
        if noun.plural is not None and rng.random() < 0.5:
            count = rng.choice(("two", "three", "four", "five", "some", "many", "ten"))
            return _join("there", rng.choice(("are", "were")), count, noun.plural, where)
        det = "some" if noun.plural is None else _indefinite(noun.singular)
        return _join("there", rng.choice(("is", "was")), det, noun.singular, where)
    subj, agr = noun_phrase(rng, cls)
    be = (BE_PRESENT if rng.random() < 0.7 else BE_PAST)[agr]
    return _join(subj, be, rng.choice(("", "still", "probably")), where)


def t_question(rng: random.Random) -> str:
    """Questions of several shapes: yes/no, wh-, and polite requests."""
    pick = rng.choice
    makers: tuple[Callable[[], str], ...] = (
        lambda: _yes_no_question(rng),
        lambda: _join("where", pick(("is", "was")), noun_phrase(rng, pick(QUESTION_THINGS), allow_plural=False)[0]),
        lambda: _join("where are", pick(POSSESSIVES), pick(_countable("small"))),
        lambda: _join("have you seen", noun_phrase(rng, pick(("small", "read", "clothes", "animal")))[0]),
        lambda: _join("can you help me", _bare_vp(rng)),
        lambda: _join("could you please", _bare_vp(rng)),
        lambda: _join("would you like", pick(("some", "a cup of", "a glass of")), _singular(rng, "drink")),
        lambda: _join("would you like to", _bare_vp(rng)),
        lambda: _join("what time does the", pick(TIMETABLED), pick(("start", "leave", "arrive", "finish"))),
        lambda: _join("when does the", _singular(rng, "place"), pick(("open", "close"))),
        lambda: _join("how many", pick(_countable("animal", "food", "small", "read")), "did you", pick(QUESTION_VERBS)),
        lambda: _join("why is", subject_3sg(rng), "so", pick(ADJ_PERSON)),
        lambda: _who_question(rng),
        lambda: _join("do you know where", pick(NAMES), pick(("lives", "works", "went", "is staying"))),
        lambda: _join("how long does it take to get to", pick(CITIES)),
        lambda: _join("is it going to", pick(("rain", "snow", "be sunny", "be cold")), pick(ADV_FUTURE)),
        lambda: _join("whose", _singular(rng, pick(("small", "clothes"))), "is this"),
        lambda: _join(
            "which",
            pick(_words("bus train tram ferry road street")),
            "goes to",
            pick(CITIES) if rng.random() < 0.5 else "the " + _singular(rng, "place"),
        ),
    )
    return pick(makers)()


QUESTION_THINGS = ("small", "read", "animal", "vehicle")
QUESTION_VERBS = ("buy", "see", "find", "count", "bring")
TIMETABLED = _words("train bus ferry plane tram concert match film show party")


def _singular(rng: random.Random, cls: str) -> str:
    """The singular of a random noun of class ``cls``."""
    return rng.choice(NOUN_CLASSES[cls][0]).singular


def _countable(*classes: str) -> tuple[str, ...]:
    """Plural forms of all countable nouns in ``classes``."""
    return tuple(n.plural for c in classes for n in NOUN_CLASSES[c][0] if n.plural is not None)


def subject_3sg(rng: random.Random) -> str:
    """A third person singular subject: name or "the/your NOUN"."""
    if rng.random() < 0.4:
        return rng.choice(NAMES)
    cls = "person" if rng.random() < 0.6 else "animal"
    return f"{rng.choice(('the', 'your', 'my', 'that'))} {rng.choice(NOUN_CLASSES[cls][0]).singular}"


def _who_question(rng: random.Random) -> str:
    """ "who VERBED the X": "who broke the window" style questions."""
    verb = rng.choice(TRANSITIVE_PAST_SAFE)
    return _join("who", verb.past, verb.particle, object_phrase(rng, verb))


# Past forms that read well in "who VERBED the X" questions.
TRANSITIVE_PAST_SAFE = tuple(
    v
    for v in TRANSITIVE
    if v.base
    in _words(
        """eat buy find lose bring take drop hide move clean fix paint open close write send drink wear
        wash drive park feed call visit help invite wake forget cancel build draw borrow"""
    )
)


# Stative verbs read oddly in requests and commands ("please love the soup").
STATIVE = frozenset(_words("want need like love hate lose see miss remember forget trust enjoy keep"))
ACTION_VERBS = tuple(v for v in TRANSITIVE if v.base not in STATIVE)


def _bare_vp(rng: random.Random) -> str:
    """An infinitive verb phrase: "carry these heavy boxes", "look for my keys"."""
    verb = rng.choice(ACTION_VERBS)
    return _join(verb.base, verb.particle, object_phrase(rng, verb))


def _yes_no_question(rng: random.Random) -> str:
    """do/does/did/will/are questions with a transitive verb."""
    subj, agr = subject(rng)
    verb = rng.choice(TRANSITIVE)
    obj = object_phrase(rng, verb)
    aux = rng.choice(("do", "did", "will", "be", "have"))
    if subj == "i":
        aux = rng.choice(("did", "will", "should", "can"))  # "do i ..." reads oddly here
    if aux == "do":
        return _join("does" if agr == "3sg" else "do", subj, verb.base, verb.particle, obj)
    if aux == "be":
        return _join(BE_PRESENT[agr] if agr != "1sg" else "am", subj, verb.ing, verb.particle, obj)
    if aux == "have":
        return _join("has" if agr == "3sg" else "have", subj, "ever", verb.participle, verb.particle, obj)
    return _join(aux, subj, verb.base, verb.particle, obj)


def t_imperative(rng: random.Random) -> str:
    """Commands and suggestions: "please close the window", "don't forget to feed the cat"."""
    roll = rng.random()
    if roll < 0.3:
        return _join(
            "please",
            _bare_vp(rng),
            _maybe(rng, 0.3, lambda: rng.choice(("now", "today", "quickly", "carefully", "before dinner"))),
        )
    if roll < 0.45:
        return _join("don't forget to", _bare_vp(rng))
    if roll < 0.6:
        verb = rng.choice(MOTION[:2] + MOTION[3:4] + MOTION[6:7])
        return _join("let's", verb.base, destination(rng), _maybe(rng, 0.6, lambda: rng.choice(ADV_FUTURE)))
    if roll < 0.75:
        small = noun_phrase(rng, rng.choice(("small", "read", "food")), allow_plural=False)[0]
        return _join("put", small, rng.choice(PREP_LOCATION), noun_phrase(rng, "big", 0.2, False)[0])
    if roll < 0.85:
        return _join(
            "call me when you",
            rng.choice(("get home", "arrive", "are ready", "finish", "wake up", "get to " + rng.choice(CITIES))),
        )
    if roll < 0.92:
        return _join(
            "turn",
            rng.choice(("left", "right")),
            rng.choice(("at the", "after the", "before the")),
            rng.choice(NOUN_CLASSES["place"][0]).singular,
        )
    verb = rng.choice(ACTION_VERBS)
    return _join(verb.base, verb.particle, object_phrase(rng, verb), rng.choice(ADV_MANNER))


def t_wants(rng: random.Random) -> str:
    """Desires and habits: "she wants to learn chess", "they like reading old books"."""
    subj, agr = subject(rng)
    verb = rng.choice(TRANSITIVE)
    tense = rng.choice(("present", "past", "neg_present", "neg_past"))
    heads = ("want", "like", "love", "hate", "need", "try", "hope", "plan")
    if tense in ("past", "neg_past"):
        heads += ("decide", "forget")  # "she decided to", never "she doesn't decide to"
    head = rng.choice(heads)
    head_verb = next((v for v in TRANSITIVE + INTRANSITIVE if v.base == head), None) or _verb(head)
    group = verb_group(rng, head_verb, tense, agr)
    if head in ("like", "love", "hate") and rng.random() < 0.5:
        return _join(subj, group, verb.ing, verb.particle, object_phrase(rng, verb))
    return _join(subj, group, "to", verb.base, verb.particle, object_phrase(rng, verb))


def t_weather(rng: random.Random) -> str:
    """Weather talk: "it was cold and windy yesterday", "it is going to snow tonight"."""
    cold = _words("cold windy cloudy rainy foggy wet freezing grey")
    warm = _words("warm hot sunny dry lovely bright")
    adjs = cold + warm
    roll = rng.random()
    if roll < 0.4:
        first, second = rng.sample(rng.choice((cold, warm)), 2)  # never "warm and freezing"
        both = f"{first} and {second}" if rng.random() < 0.4 else first
        if rng.random() < 0.5:
            return _join("it", "was", both, rng.choice(ADV_PAST))
        return _join(
            "it",
            "is",
            _maybe(rng, 0.3, lambda: "very"),
            both,
            rng.choice(("today", "outside", "again", "this morning")),
        )
    if roll < 0.7:
        return _join(
            "it",
            rng.choice(("is going to", "will", "might")),
            rng.choice(("rain", "snow", "be sunny", "be windy", "get colder")),
            rng.choice(ADV_FUTURE),
        )
    place = rng.choice(CITIES + COUNTRIES)
    verb = rng.choice(("is usually", "is often", "is very", "can be very", "can be quite", "was"))
    if rng.random() < 0.5:
        season = rng.choice(("the summers", "the winters"))
        return _join(season, "in", place, verb.replace("is", "are").replace("was", "were"), rng.choice(adjs))
    return _join(rng.choice(SEASONS), "in", place, verb, rng.choice(adjs))


def t_time_and_numbers(rng: random.Random) -> str:
    """Numbers, dates and clock times: "the train leaves at half past seven"."""
    roll = rng.random()
    if roll < 0.2:
        what = rng.choice(_words("train bus ferry meeting lesson concert match film party shop museum"))
        verb = rng.choice(("leaves", "starts", "opens", "closes", "finishes", "arrives"))
        return _join("the", what, verb, "at", _clock(rng), _maybe(rng, 0.3, lambda: "on " + rng.choice(WEEKDAYS) + "s"))
    if roll < 0.35:
        be = rng.choice(("is", "was", "will be"))
        when = {"is": "today", "was": "last year", "will be": rng.choice(("next month", "in " + rng.choice(MONTHS)))}
        return _join(rng.choice(NAMES), be, _number(rng, 2, 95)[0], "years old", _maybe(rng, 0.3, lambda: when[be]))
    if roll < 0.5:
        who = rng.choice(("i was", "she was", "he was", "my mother was", rng.choice(NAMES) + " was"))
        where = _maybe(rng, 0.5, lambda: "in " + rng.choice(CITIES + COUNTRIES))
        when = "in " + (_year(rng) if rng.random() < 0.7 else rng.choice(MONTHS))
        return _join(who, "born", where, when)
    if roll < 0.65:
        subj, agr = subject(rng)
        cls = rng.choice(("food", "small", "animal", "read", "clothes"))
        noun = rng.choice([n for n in NOUN_CLASSES[cls][0] if n.plural is not None])
        verb = rng.choice(("bought", "found", "saw", "counted", "needs", "has", "wants"))
        if verb in ("needs", "has", "wants") and agr != "3sg":
            verb = {"needs": "need", "has": "have", "wants": "want"}[verb]
        return _join(subj, verb, _number(rng, 2, 40)[0], _adjective(rng, cls, 0.3).strip(), noun.plural)
    if roll < 0.8:
        day = rng.choice(ORDINALS)
        event = rng.choice(NOUN_CLASSES["event"][0]).singular
        return _join("the", event, rng.choice(("is", "was", "will be")), "on the", day, "of", rng.choice(MONTHS))
    if roll < 0.9:
        return _join(
            rng.choice(("we live", "they live", "my office is", "the doctor is", rng.choice(NAMES) + " lives")),
            "on the",
            rng.choice(ORDINALS),
            "floor",
        )
    amount = _number(rng, 2, 12)[0]
    unit, what = rng.choice(
        (
            ("cups", "tea"),
            ("cups", "coffee"),
            ("bottles", "water"),
            ("slices", "bread"),
            ("glasses", "milk"),
            ("kilos", "potatoes"),
            ("boxes", "cereal"),
            ("bags", "rice"),
        )
    )
    return _join(
        rng.choice(("we need", "please buy", "i drank", "she ordered", "they brought")), amount, unit, "of", what
    )


def t_compound(rng: random.Random) -> str:
    """Two short clauses joined by a conjunction: "i was tired so i went home"."""
    subj, agr = subject(rng)
    first = _join(subj, verb_group(rng, rng.choice(INTRANSITIVE), "past", agr))
    second_subj, second_agr = (
        subject(rng)
        if rng.random() < 0.5
        else ({"1sg": "i", "2": "you", "3sg": rng.choice(("he", "she")), "pl": "they"}[agr], agr)
    )
    verb = rng.choice(TRANSITIVE)
    second = _join(second_subj, verb_group(rng, verb, "past", second_agr), object_phrase(rng, verb))
    conj = rng.choice(("and", "but", "because", "so", "while", "after", "before", "when"))
    if rng.random() < 0.3 and conj in ("because", "when", "after", "before", "while"):
        return _join(conj, second, first)
    return _join(first, conj, second)


def t_travel(rng: random.Random) -> str:
    """Names and places: "maria moved to lisbon in two thousand and ten"."""
    name = rng.choice(NAMES)
    city, other = rng.sample(CITIES + COUNTRIES, 2)
    roll = rng.random()
    if roll < 0.3:
        return _join(
            name,
            rng.choice(("lives", "works", "studied", "grew up", "stayed")),
            "in",
            city,
            _maybe(
                rng, 0.4, lambda: rng.choice(("with " + person_object(rng), "for " + _number(rng, 2, 12)[0] + " years"))
            ),
        )
    if roll < 0.55:
        return _join(
            name,
            "moved to",
            city,
            rng.choice(("in " + _year(rng), rng.choice(ADV_PAST), "last " + rng.choice(SEASONS))),
        )
    if roll < 0.8:
        return _join(
            rng.choice(("we", "they", name)),
            rng.choice(("flew", "drove", "travelled", "took the train")),
            "from",
            city,
            "to",
            other,
        )
    return _join(
        "the",
        rng.choice(("flight", "train", "bus", "ferry")),
        "to",
        city,
        rng.choice(("was", "is")),
        rng.choice(("late", "cancelled", "full", "on time", "delayed", "very cheap")),
        _maybe(rng, 0.4, lambda: rng.choice(ADV_PAST)),
    )


# Template -> weight. Weights favour plain statements, as in ordinary read speech.
TEMPLATES: tuple[tuple[Callable[[random.Random], str], int], ...] = (
    (t_transitive, 30),
    (t_intransitive, 10),
    (t_motion, 8),
    (t_copula, 8),
    (t_location, 6),
    (t_question, 12),
    (t_imperative, 8),
    (t_wants, 6),
    (t_weather, 3),
    (t_time_and_numbers, 6),
    (t_compound, 6),
    (t_travel, 4),
)


def is_valid(text: str) -> bool:
    """True if ``text`` uses only lowercase letters, apostrophes and single spaces and has
    MIN_WORDS..MAX_WORDS words."""
    return bool(VALID_TEXT.fullmatch(text)) and MIN_WORDS <= len(text.split()) <= MAX_WORDS


def make_sentences(n: int, seed: int) -> list[str]:
    """``n`` distinct valid sentences, each from a template picked by weight, deterministic for
    ``seed`` and prefix-stable in ``n``."""
    return unique_texts(n, seed, TEMPLATES, is_valid, "sentences")


def vocabulary() -> list[str]:
    """Every word the word lists can contribute (all noun and verb forms), sorted."""
    words: set[str] = set()
    lists = (
        NAMES,
        CITIES,
        COUNTRIES,
        WEEKDAYS,
        MONTHS,
        SEASONS,
        ONES,
        TEENS,
        TENS,
        ORDINALS,
        COLOURS,
        ADJ_PERSON,
        ADJ_ANIMAL,
        ADJ_FOOD,
        ADJ_DRINK,
        ADJ_THING,
        ADJ_PLACE,
        ADJ_READ,
        ADJ_VEHICLE,
        ADJ_CLOTHES,
        ADJ_INSTRUMENT,
        ADJ_EVENT,
        ADV_MANNER,
        ADV_FREQUENCY,
        ADV_PAST,
        ADV_FUTURE,
        ADV_HABIT,
        ADV_PERFECT,
        PREP_LOCATION,
        PREP_PLACE,
        POSSESSIVES,
        MODALS,
        tuple(PRONOUNS),
    )
    for entries in lists:
        for entry in entries:
            words.update(entry.split())
    for nouns, _ in NOUN_CLASSES.values():
        for noun in nouns:
            words.update(noun.singular.split())
            words.update((noun.plural or "").split())
    for verb in TRANSITIVE + INTRANSITIVE + MOTION:
        words.update((verb.base, verb.third, verb.past, verb.participle, verb.ing, *verb.particle.split()))
    return sorted(words)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for sentence in make_sentences(count, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0):
        print(sentence)
