"""Deterministic generator of short text lines for the synthetic OCR corpus.

Lines look like what a text-line recogniser meets on documents, receipts, forms and screens:
runs of common English words in several casings, names and addresses, numbers, prices, dates,
times, e-mail addresses, web addresses, product codes and IDs, phone numbers, "label: value"
fields, code-like strings with the rarer ASCII symbols, and single characters or very short
strings. Everything comes from word lists and templates in this module.

Texts use printable ASCII only (U+0020..U+007E; so prices are written "GBP 3" or "3 EUR", not
with the pound or euro sign), have 1 to 60 characters, never start or end with a space and never
hold two spaces in a row. ``make_texts(n, seed)`` returns ``n`` distinct texts and is
prefix-stable: the first ``k`` texts for a seed do not depend on ``n``, which lets callers carve
disjoint splits (test first, then dev, then train) that stay fixed when the train size changes.
"""

from __future__ import annotations

import random
import re
import string
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
from recipes.common import unique_texts  # noqa: E402

MIN_CHARS = 1
MAX_CHARS = 60
# Printable ASCII, no leading/trailing space, no double space.
VALID_TEXT = re.compile(r"[!-~](?:[!-~]| (?! ))*(?<! )")
# Punctuation and symbols (string.punctuation is exactly the 32 ASCII ones).
PUNCTUATION = string.punctuation


def _words(text: str) -> tuple[str, ...]:
    """Split a whitespace separated word list; '_' inside an entry stands for a space."""
    return tuple(w.replace("_", " ") for w in text.split())


# --------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------

# About 1,000 common English words (function words, nouns, verbs in several forms, adjectives,
# adverbs), lowercase, without repeats.
_COMMON_LIST = _words(
    """the of and to a in is it you that he was for on are with as his they be at one have this
    from or had by hot word but what some we can out other were all there when up use your how
    said an each she which do their time if will way about many then them write would like so
    these her long make thing see him two has look more day could go come did number sound no
    most people my over know water than call first who may down side been now find any new work
    part take get place made live where after back little only round man year came show every
    good me give our under name very through just form sentence great think say help low line
    differ turn cause much mean before move right boy old too same tell does set three want air
    well also play small end put home read hand port large spell add even land here must big
    high such follow act why ask men change went light kind off need house picture try us again
    animal point mother world near build self earth father head stand own page should country
    found answer school grow study still learn plant cover food sun four between state keep eye
    never last let thought city tree cross farm hard start might story saw far sea draw left
    late run while press close night real life few north open seem together next white children
    begin got walk example ease paper group always music those both mark often letter until
    mile river car feet care second book carry took science eat room friend began idea fish
    mountain stop once base hear horse cut sure watch colour face wood main enough plain girl
    usual young ready above ever red list though feel talk bird soon body dog family direct pose
    leave song measure door product black short numeral class wind question happen complete ship
    area half rock order fire south problem piece told knew pass since top whole king space
    heard best hour better true during hundred five remember step early hold west ground
    interest reach fast verb sing listen six table travel less morning ten simple several vowel
    toward war lay against pattern slow centre love person money serve appear road map rain
    rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark
    machine note wait plan figure star box noun field rest correct able pound done beauty drive
    stood contain front teach week final gave green quick develop ocean warm free minute strong
    special mind behind clear tail produce fact street inch multiply nothing course stay wheel
    full force blue object decide surface deep moon island foot system busy test record boat
    common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate
    miss brought heat snow tyre bring yes distant fill east paint language among grand ball yet
    wave drop heart present heavy dance engine position arm wide sail material size vary settle
    speak weight general ice matter circle pair include divide syllable felt perhaps pick sudden
    count square reason length represent art subject region energy hunt probable bed brother egg
    ride cell believe fraction forest sit race window store summer train sleep prove lone leg
    exercise wall catch mount wish sky board joy winter sat written wild instrument kept glass
    grass cow job edge sign visit past soft fun bright gas weather month million bear finish
    happy hope flower clothe strange gone jump baby eight village meet root buy raise solve
    metal whether push seven paragraph third shall held hair describe cook floor either result
    burn hill safe cat century consider type law bit coast copy phrase silent tall sand soil
    roll temperature finger industry value fight lie beat excite natural view sense ear else
    quite broke case middle kill son lake moment scale loud spring observe child straight
    consonant nation dictionary milk speed method organ pay age section dress cloud surprise
    quiet stone tiny climb cool design poor lot experiment bottom key iron single stick flat
    twenty skin smile crease hole trade melody trip office receive row mouth exact symbol die
    least trouble shout except wrote seed tone join suggest clean break lady yard rise bad blow
    oil blood touch grew cent mix team wire cost lost brown wear garden equal sent choose fell
    fit flow fair bank collect save control decimal gentle woman captain practice separate
    difficult doctor please protect noon whose locate ring character insect caught period
    indicate radio spoke atom human history effect electric expect crop modern element hit
    student corner party supply bone rail imagine provide agree thus capital chair danger fruit
    rich thick soldier process operate guess necessary sharp wing create neighbour wash bat
    rather crowd corn compare poem string bell depend meat rub tube famous dollar stream fear
    sight thin triangle planet hurry chief colony clock mine tie enter major fresh search send
    yellow gun allow print dead spot desert suit current lift rose continue block chart hat
    sell success company subtract event particular deal swim term opposite wife shoe shoulder
    spread arrange camp invent cotton born determine quart nine truck noise level chance gather
    shop stretch throw shine property column molecule select wrong grey repeat require broad
    prepare salt nose plural anger claim continent oxygen sugar death pretty skill women season
    solution magnet silver thank branch match suffix especially fig afraid huge sister steel
    discuss forward similar guide experience score apple bought led pitch coat mass card band
    rope slip win dream evening condition feed tool total basic smell valley nor double seat
    arrive master track parent shore division sheet substance favour connect post spend chord
    fat glad original share station dad bread charge proper bar offer segment slave duck
    instant market degree populate chick dear enemy reply drink occur support speech nature
    range steam motion path liquid log meant quotient teeth shell neck account invoice receipt
    customer address phone email price total amount balance due date payment delivery order
    shipping report update account login password user service support contact news weekly
    daily monthly annual budget meeting agenda minutes project status review approved pending
    cancelled confirmed draft final version release notes item quantity unit discount tax net
    gross subtotal cash credit debit card reference ticket booking seat gate flight platform
    departure arrival exit entrance floor level room building parking open closed sale new
    free limited offer today tomorrow yesterday monday tuesday wednesday thursday friday
    saturday sunday january february march april june july august september october november
    december"""
)
COMMON = tuple(dict.fromkeys(_COMMON_LIST))

FIRST_NAMES = _words(
    """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara
    Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony
    Betty Mark Margaret Donald Sandra Steven Ashley Paul Kimberly Andrew Emily Joshua Donna Kevin
    Michelle Brian Carol George Amanda Edward Melissa Ronald Deborah Timothy Stephanie Jason
    Rebecca Jeffrey Laura Ryan Helen Jacob Sharon Gary Cynthia Nicholas Kathleen Eric Amy
    Jonathan Shirley Larry Angela Justin Anna Scott Ruth Brandon Brenda Frank Pamela Benjamin
    Nicole Gregory Katherine Samuel Virginia Raymond Catherine Patrick Christine Alexander
    Samantha Jack Debra Dennis Janet Jerry Rachel Tyler Carolyn Aaron Emma Henry Maria Adam
    Heather Zachary Diane Nathan Julie Walter Joyce Kyle Victoria Harold Olivia Carl Kelly
    Jeremy Christina Keith Lauren Roger Joan Gerald Evelyn Ethan Judith Arthur Megan Terry
    Andrea Christian Cheryl Sean Hannah Lawrence Jacqueline Austin Martha Joe Gloria Noah Teresa
    Jesse Ann Albert Sara Bryan Madison Billy Frances Bruce Kathryn Willie Janice Jordan Jean
    Dylan Abigail Alan Alice Ralph Judy Gabriel Sophia Roy Grace Juan Denise Wayne Amber Eugene
    Doris Logan Marilyn Randy Danielle Louis Beverly Russell Isabella Vincent Theresa Philip
    Diana Bobby Natalie Johnny Brittany Bradley Charlotte Liam Mia Lucas Chloe Oliver Zoe Hugo
    Yuki Priya Omar Fatima Ivan Elena Carlos Ahmed Mei Wei Hiroshi Aisha Kwame Ingrid Lars
    Sofia Mateo Chen Raj Anil Sven Pierre Claire Luca Giulia Pablo Lucia Dmitri Olga Kofi Amara"""
)

LAST_NAMES = _words(
    """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
    Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
    Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
    Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
    Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
    Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
    Coleman Butler Henderson Barnes Fisher Vasquez Simmons Graham Marshall Owens Harrison
    Gibson McDonald O'Brien O'Neill MacLeod Schmidt Muller Rossi Dubois Tanaka Suzuki Wang Zhang
    Singh Kumar Sato Novak Kowalski Jensen Larsen Silva Santos Costa Ivanova Petrov Haddad Okafor
    Mensah Berg Lindqvist Moreau Fontaine Bianchi Romano Fischer Weber Becker Hoffmann Van_Dijk"""
)

CITIES = _words(
    """London Paris Rome Berlin Madrid Tokyo Dublin Boston Chicago Toronto Sydney New_York Cairo
    Lisbon Vienna Prague Moscow Athens Oslo Amsterdam Brussels Geneva Edinburgh Glasgow
    Manchester Liverpool Seattle Denver Dallas Miami Montreal Vancouver Melbourne Delhi Mumbai
    Istanbul Warsaw Budapest Stockholm Helsinki Copenhagen Venice Naples Milan Barcelona Munich
    Hamburg Zurich Lyon Marseille Porto Seville Valencia Krakow Bristol Leeds Cardiff Belfast
    Houston Phoenix Atlanta Portland San_Francisco Los_Angeles San_Diego Austin Nashville
    Detroit Ottawa Calgary Auckland Wellington Perth Brisbane Singapore Hong_Kong Shanghai
    Beijing Seoul Osaka Bangkok Jakarta Manila Nairobi Lagos Accra Cape_Town Johannesburg
    Casablanca Dubai Doha Tel_Aviv Lima Bogota Santiago Buenos_Aires Sao_Paulo Mexico_City"""
)

COUNTRIES = _words(
    """Mexico India China Japan Spain France Italy Germany Canada Brazil Egypt Kenya Scotland
    Ireland Wales England USA UK Australia Norway Sweden Greece Peru Chile Portugal Poland
    Iceland Morocco Argentina Denmark Finland Austria Belgium Netherlands Switzerland Turkey
    Nigeria Ghana Vietnam Thailand Indonesia Korea Colombia Cuba Jamaica New_Zealand"""
)

# Two-letter US state codes for "City, ST 12345" lines.
STATES = _words(
    "AL AK AZ CA CO CT DE FL GA HI ID IL IN IA KS KY MA MD ME MI MN MO NC NJ NM NV NY OH OR PA TX UT VA WA WI"
)

STREETS = _words(
    """Main Oak Maple Pine Cedar Elm Park Lake Hill Church High Station Mill Bridge King Queen
    Victoria George Market Green Spring River Sunset Forest Willow Chestnut Washington Lincoln
    Jefferson Franklin Highland Meadow Orchard North South West East"""
)
STREET_TYPES = _words("Street St. Road Rd. Avenue Ave. Lane Ln. Drive Dr. Way Place Court Blvd. Square Close")

COMPANY_WORDS = _words(
    """Acme Global United General National Pacific Atlantic Northern Summit Apex Blue Green Red
    Silver Golden Star Bright Prime Nova Delta Alpha Omega Metro City Royal Crown Eagle Falcon
    Pioneer Liberty Unity Vertex Quantum Fusion Harbor Orchard Maple River Stone Iron"""
)
COMPANY_TYPES = _words(
    """Ltd. Inc. LLC GmbH Co. Corp. plc &_Sons Group Partners Holdings Systems Labs Foods Motors
    Logistics Media Bank Insurance Bakery Cafe Pharmacy Hardware Electronics Books Market"""
)

MONTHS = _words("January February March April May June July August September October November December")
MONTH_ABBR = _words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec")
WEEKDAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
WEEKDAY_ABBR = _words("Mon Tue Wed Thu Fri Sat Sun")

TITLES = _words("Mr. Mrs. Ms. Dr. Prof. Sir Rev. Capt.")
UNITS = _words("kg g mg lb oz km m cm mm mi ft in L ml h min s ms MB GB TB kB Hz kHz MHz V W kW mAh px pt")
CURRENCY_CODES = _words("USD EUR GBP JPY CHF CAD AUD SEK NOK INR CNY")
CURRENCY_SIGNS = ("$", "US$", "A$", "C$")  # ASCII only: no pound, euro or yen signs
TLDS = _words("com org net io co.uk de fr edu gov info biz us ca au nl")
URL_PATHS = _words(
    """about contact products blog news help faq docs login account cart search shop support
    pricing careers team events terms privacy download index.html home.php article view"""
)
FILE_EXTS = _words("pdf txt csv doc docx xls xlsx png jpg zip json xml html py log tar.gz")
ABBREVIATIONS = _words(
    """OK No. Mr Mrs Dr St. e.g. i.e. etc. vs. a.m. p.m. ASAP FAQ PTO TBD N/A Ref. Qty. Tel. Fax
    Inv. Acct. Dept. Apt. Est. Vol. pp. ch. fig. Fig. Ave. Jr. Sr. Co. Ltd. Inc. Corp. ID PIN
    VAT GST ATM USB PDF URL CEO HR IT PC TV UK USA EU UN AM PM GMT UTC"""
)
# Words in the contractions and possessives that common English writes with an apostrophe.
CONTRACTIONS = _words(
    """don't can't won't it's I'm you're we're they're isn't aren't wasn't didn't doesn't
    couldn't shouldn't wouldn't I've we've they've I'll you'll we'll let's that's there's
    what's who's here's o'clock"""
)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _case(words: list[str], rng: random.Random) -> list[str]:
    """Apply a random casing style to a run of words: lower, Sentence, Title or UPPER."""
    roll = rng.random()
    if roll < 0.35:
        return [w.lower() for w in words]
    if roll < 0.7:
        return [words[0][:1].upper() + words[0][1:].lower(), *(w.lower() for w in words[1:])]
    if roll < 0.85:
        return [w[:1].upper() + w[1:].lower() for w in words]
    return [w.upper() for w in words]


def _int_text(value: int, rng: random.Random, sep_prob: float = 0.6) -> str:
    """An integer, with ',' thousands separators (or, rarely, '.' or ' ') for ``sep_prob``."""
    if value >= 1000 and rng.random() < sep_prob:
        sep = rng.choices((",", ".", " ", "'"), weights=(8, 2, 1, 1))[0]
        return f"{value:,}".replace(",", sep)
    return str(value)


def _magnitude(rng: random.Random, max_digits: int = 7) -> int:
    """A non-negative integer with a log-uniform number of digits (1..max_digits)."""
    digits = rng.randint(1, max_digits)
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def _letters(rng: random.Random, k: int, alphabet: str = string.ascii_uppercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(k))


def _digits(rng: random.Random, k: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(k))


def _alnum(rng: random.Random, k: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(k))


def _name(rng: random.Random) -> str:
    """A person's name in one of several written forms."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    roll = rng.random()
    if roll < 0.4:
        return f"{first} {last}"
    if roll < 0.55:
        return f"{first[0]}. {last}"
    if roll < 0.7:
        return f"{rng.choice(TITLES)} {last}"
    if roll < 0.8:
        return f"{last}, {first}"
    if roll < 0.9:
        return f"{first} {rng.choice(string.ascii_uppercase)}. {last}"
    return f"{first} {last}".upper()


# --------------------------------------------------------------------------------------------
# Categories. Each returns one candidate line (which may be rejected by the length check).
# --------------------------------------------------------------------------------------------


def t_words(rng: random.Random) -> str:
    """A run of 1-8 common words with optional names, contractions and punctuation."""
    n = rng.choices((1, 2, 3, 4, 5, 6, 7, 8), weights=(6, 8, 9, 9, 8, 6, 4, 3))[0]
    words = [rng.choice(COMMON) for _ in range(n)]
    words = _case(words, rng)
    if rng.random() < 0.15:
        words.insert(rng.randint(0, len(words)), rng.choice(CONTRACTIONS))
    if rng.random() < 0.15:
        words.insert(rng.randint(0, len(words)), rng.choice(FIRST_NAMES + CITIES + COUNTRIES))
    if rng.random() < 0.1:
        i = rng.randrange(len(words))
        words[i] = rng.choice((f"{rng.choice(FIRST_NAMES)}'s", f"{words[i]}'s", f"{words[i]}s'"))
    if len(words) > 2 and rng.random() < 0.25:
        i = rng.randint(1, len(words) - 1)
        words[i - 1] += rng.choice((",", ",", ";", ":", " -", " &", " /"))
    text = " ".join(words)
    roll = rng.random()
    if roll < 0.12:
        q = rng.choice(('"', "'"))
        text = f"{q}{text}{rng.choice(('', '.', '!', '?', ','))}{q}"
    elif roll < 0.2:
        text = f"({text})"
    elif roll < 0.27:
        bullet = rng.choice(("-", "*", ">", "#", "[]", "1.", "a)", "2)", "-"))
        text = f"[{text}]" if bullet == "[]" else f"{bullet} {text}"
    if rng.random() < 0.45:
        text += rng.choices((".", "!", "?", ":", "...", ";", ",", "?!", " -"), weights=(12, 3, 4, 3, 2, 1, 2, 1, 1))[0]
    return text


def t_name_place(rng: random.Random) -> str:
    """Names, addresses, cities and company names."""
    roll = rng.random()
    if roll < 0.3:
        return _name(rng)
    if roll < 0.5:
        number = rng.choice((str(rng.randint(1, 999)), f"{rng.randint(1, 99)}{rng.choice('ABC')}"))
        return f"{number} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    if roll < 0.65:
        return f"{rng.choice(CITIES)}, {rng.choice(COUNTRIES)}"
    if roll < 0.75:
        return f"{rng.choice(CITIES)}, {rng.choice(STATES)} {_digits(rng, 5)}"
    if roll < 0.9:
        return f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TYPES)}"
    return rng.choice((f"Attn: {_name(rng)}", f"c/o {_name(rng)}", f"P.O. Box {rng.randint(1, 9999)}"))


def t_number(rng: random.Random) -> str:
    """Integers, decimals, separators, signs, percentages, ordinals, fractions, ranges, units."""
    roll = rng.random()
    value = _magnitude(rng)
    if roll < 0.3:
        return _int_text(value, rng)
    if roll < 0.5:
        decimals = rng.choice((1, 2, 2, 3))
        frac = _digits(rng, decimals)
        if rng.random() < 0.15:  # continental style: 1.234,56
            return f"{_int_text(value, rng, 0.5).replace(',', '.')},{frac}"
        return f"{_int_text(value, rng)}.{frac}"
    if roll < 0.58:
        return f"{rng.choice(('-', '+', '-'))}{_int_text(_magnitude(rng, 5), rng)}{rng.choice(('', '.5', '.25', '.0'))}"
    if roll < 0.68:
        return f"{rng.randint(0, 100)}{rng.choice(('', '.5', '.25'))}{rng.choice(('%', ' %', '%'))}"
    if roll < 0.76:
        n = rng.randint(1, 120)
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    if roll < 0.82:
        return f"{rng.randint(1, 15)}/{rng.choice((2, 3, 4, 8, 16, 10, 100))}"
    if roll < 0.88:
        a = rng.randint(0, 500)
        return f"{a}{rng.choice(('-', ' - ', ' to ', '..', '/'))}{a + rng.randint(1, 500)}"
    if roll < 0.96:
        amount = rng.choice((str(rng.randint(1, 999)), f"{rng.randint(0, 99)}.{_digits(rng, 1)}"))
        return f"{amount}{rng.choice(('', ' '))}{rng.choice(UNITS)}"
    return f"{rng.choice(('No.', 'no.', 'Nr.', 'x', '#', 'Vol.', 'Ch.'))} {rng.randint(1, 999)}"


def t_price(rng: random.Random) -> str:
    """Prices with ASCII currency signs or ISO codes, optional labels and per-unit text."""
    whole = rng.choice((rng.randint(0, 99), rng.randint(0, 999), _magnitude(rng, 6)))
    cents = _digits(rng, 2)
    amount = rng.choice((f"{_int_text(whole, rng)}.{cents}", f"{_int_text(whole, rng)}.{cents}", str(whole)))
    roll = rng.random()
    if roll < 0.4:
        text = f"{rng.choice(CURRENCY_SIGNS)}{amount}"
    elif roll < 0.6:
        text = f"{amount} {rng.choice(CURRENCY_CODES)}"
    elif roll < 0.75:
        text = f"{rng.choice(CURRENCY_CODES)} {amount}"
    elif roll < 0.85:
        text = f"-${amount}" if rng.random() < 0.5 else f"(${amount})"
    else:
        text = f"{whole}{rng.choice(('c', 'p', ' cents', ',-', '.-'))}"
    if rng.random() < 0.2:
        text += rng.choice((" each", "/kg", "/lb", " per month", "/mo", " incl. VAT", " + tax", "/hr", " net"))
    if rng.random() < 0.15:
        label = rng.choice(("Price", "Total", "Now", "Was", "Only", "Save", "From"))
        text = f"{label}{rng.choice((':', '', ' -'))} {text}"
    return text


def t_date(rng: random.Random) -> str:
    """Dates in ISO, European, US, written-out and abbreviated forms."""
    year, month, day = rng.randint(1950, 2035), rng.randint(1, 12), rng.randint(1, 28)
    forms = (
        f"{year}-{month:02d}-{day:02d}",
        f"{day:02d}/{month:02d}/{year}",
        f"{month:02d}/{day:02d}/{year}",
        f"{day}.{month}.{year}",
        f"{day:02d}.{month:02d}.{year % 100:02d}",
        f"{month}/{day}/{year % 100:02d}",
        f"{MONTHS[month - 1]} {day}, {year}",
        f"{day} {MONTHS[month - 1]} {year}",
        f"{day}-{MONTH_ABBR[month - 1]}-{year}",
        f"{MONTH_ABBR[month - 1]} {day}",
        f"{WEEKDAYS[rng.randrange(7)]}, {MONTHS[month - 1]} {day}",
        f"{WEEKDAY_ABBR[rng.randrange(7)]} {day:02d} {MONTH_ABBR[month - 1]} {year}",
        f"{MONTHS[month - 1]} {year}",
        f"{MONTH_ABBR[month - 1].upper()} {day:02d} {year}",
        f"Q{rng.randint(1, 4)} {year}",
        f"{year}/{month:02d}/{day:02d}",
    )
    text = rng.choice(forms)
    if rng.random() < 0.12:
        text = f"{rng.choice(('Date:', 'Due', 'Exp.', 'Valid until', 'Since', 'Issued', 'DOB:'))} {text}"
    return text


def t_time(rng: random.Random) -> str:
    """Clock times in 24 h and 12 h forms, with seconds, ranges and zones."""
    h24, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    h12 = h24 % 12 or 12
    ampm = rng.choice(("am", "pm", "AM", "PM", "a.m.", "p.m."))
    forms = (
        f"{h24:02d}:{minute:02d}",
        f"{h24}:{minute:02d}",
        f"{h24:02d}:{minute:02d}:{second:02d}",
        f"{h12}:{minute:02d} {ampm}",
        f"{h12}:{minute:02d}{ampm}",
        f"{h12} {ampm}",
        f"{h24:02d}.{minute:02d}",
        f"{h24:02d}:{minute:02d} - {(h24 + rng.randint(1, 3)) % 24:02d}:{minute:02d}",
        f"{h24:02d}:{minute:02d} {rng.choice(('UTC', 'GMT', 'CET', 'EST', 'PST', 'UTC+1', 'UTC-5'))}",
        f"{h24:02d}{minute:02d}h",
        f"{rng.randint(1, 12)}h {minute:02d}m",
    )
    text = rng.choice(forms)
    if rng.random() < 0.15:
        text = f"{rng.choice(('Time:', 'at', 'Opens', 'Closes', 'Dep.', 'Arr.', 'Check-in'))} {text}"
    return text


def _user(rng: random.Random) -> str:
    """The user part of an e-mail address."""
    first, last = rng.choice(FIRST_NAMES).lower(), rng.choice(LAST_NAMES).lower().replace("'", "").replace(" ", "")
    return rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{first}{rng.randint(1, 99)}",
            f"{last}-{first[0]}",
            rng.choice(("info", "sales", "support", "admin", "hello", "contact", "no-reply", "office", "billing")),
            f"{first}+{rng.choice(('news', 'shop', 'work'))}",
        )
    )


def _domain(rng: random.Random) -> str:
    """A domain name from company and common words."""
    name = rng.choice(COMPANY_WORDS + COMMON[:300]).lower()
    if rng.random() < 0.4:
        name += rng.choice(("-", "")) + rng.choice(COMMON[:300] + COMPANY_WORDS).lower()
    if rng.random() < 0.1:
        name += str(rng.randint(1, 99))
    return f"{name}.{rng.choice(TLDS)}"


def t_email(rng: random.Random) -> str:
    """E-mail addresses, sometimes with a label or in angle brackets."""
    text = f"{_user(rng)}@{_domain(rng)}"
    if rng.random() < 0.1:
        text = text.upper() if rng.random() < 0.3 else text.capitalize()
    roll = rng.random()
    if roll < 0.15:
        text = f"{rng.choice(('Email:', 'E-mail:', 'Mail:', 'email'))} {text}"
    elif roll < 0.22:
        text = f"<{text}>"
    elif roll < 0.27:
        text = f"{rng.choice(FIRST_NAMES)} <{text}>"
    return text


def t_url(rng: random.Random) -> str:
    """Web addresses with and without scheme, paths, queries and anchors."""
    host = rng.choice(("www.", "", "", "shop.", "blog.", "api.", "docs.", "m.")) + _domain(rng)
    scheme = rng.choice(("https://", "http://", "", "", "https://"))
    path = ""
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        path += "/" + rng.choice(URL_PATHS + (str(rng.randint(1, 9999)), _alnum(rng, 6).lower()))
    if path and rng.random() < 0.2:
        path += rng.choice(("/", f"?id={rng.randint(1, 99999)}", f"?q={rng.choice(COMMON)}&page={rng.randint(1, 9)}"))
    if rng.random() < 0.05:
        path += f"#{rng.choice(URL_PATHS)}"
    text = scheme + host + path
    if rng.random() < 0.08:
        text = f"{rng.choice(('Web:', 'Visit', 'See', 'www:'))} {text}"
    return text


def t_code(rng: random.Random) -> str:
    """Product codes, IDs, serial numbers, invoice numbers, versions and file names."""
    forms: tuple[Callable[[], str], ...] = (
        lambda: f"{_letters(rng, 2)}-{_digits(rng, 4)}-{_letters(rng, 2)}",
        lambda: f"#{rng.choice(string.ascii_uppercase)}{rng.randint(1, 99)}",
        lambda: f"#{rng.randint(1, 99999)}",
        lambda: f"{_letters(rng, 3)}{_digits(rng, rng.randint(3, 6))}",
        lambda: f"{_alnum(rng, 4)}-{_alnum(rng, 4)}-{_alnum(rng, 4)}",
        lambda: f"INV-{rng.randint(2015, 2030)}-{_digits(rng, 4)}",
        lambda: (
            f"{rng.choice(('SKU', 'REF', 'ID', 'PO', 'SN', 'Order', 'Lot'))}{rng.choice((' ', ': ', '#', '-', ' #'))}"
            f"{_alnum(rng, rng.randint(4, 9))}"
        ),
        lambda: f"v{rng.randint(0, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        lambda: f"{rng.choice(COMMON)}_{rng.randint(1, 2030)}.{rng.choice(FILE_EXTS)}",
        lambda: f"{rng.choice(COMMON).upper()}-{_digits(rng, 3)}",
        lambda: f"{_letters(rng, 2)}{_digits(rng, 2)} {_letters(rng, 3)}",  # UK-style plate
        lambda: f"0x{_letters(rng, rng.choice((4, 8)), '0123456789ABCDEF')}",
        lambda: f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 4)}",
        lambda: f"{_letters(rng, 1)}{rng.randint(1, 99)}/{rng.randint(1, 999)}",
        lambda: f"{_digits(rng, 13)}",  # EAN-13 style
        lambda: f"{rng.choice(string.ascii_uppercase)}{rng.randint(1, 9)}{rng.choice(string.ascii_lowercase)}",
        lambda: f"{_alnum(rng, 8).lower()}-{_alnum(rng, 4).lower()}",
    )
    return rng.choice(forms)()


def t_phone(rng: random.Random) -> str:
    """Phone numbers in North American, international and European groupings."""
    forms = (
        f"({_digits(rng, 3)}) {_digits(rng, 3)}-{_digits(rng, 4)}",
        f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}",
        f"+1 {_digits(rng, 3)} {_digits(rng, 3)} {_digits(rng, 4)}",
        f"+{rng.randint(30, 99)} {_digits(rng, rng.randint(2, 3))} {_digits(rng, 3)} {_digits(rng, 4)}",
        f"+44 (0){_digits(rng, 2)} {_digits(rng, 4)} {_digits(rng, 4)}",
        f"0{_digits(rng, 3)} {_digits(rng, 6)}",
        f"{_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}",
        f"{_digits(rng, 3)}.{_digits(rng, 3)}.{_digits(rng, 4)}",
        f"1-800-{_letters(rng, 7)}",
        f"{_digits(rng, 4)} {_digits(rng, 3)} {_digits(rng, 3)} ext. {rng.randint(1, 999)}",
    )
    text = rng.choice(forms)
    if rng.random() < 0.25:
        text = f"{rng.choice(('Tel:', 'Tel.', 'Phone:', 'Ph:', 'Fax:', 'Mobile:', 'Call', 'T:'))} {text}"
    return text


def t_field(rng: random.Random) -> str:
    """Label-and-value lines ("Total: $4.50") and short mixed sentences from forms, receipts and tickets."""
    kind = rng.choice(tuple(FIELD_LABELS))
    label, value = rng.choice(FIELD_LABELS[kind]), kind(rng)
    roll = rng.random()
    if roll < 0.55:
        sep = rng.choice((": ", ": ", " ", " - ", ":", " = ", ".... "))
        label = label.upper() if rng.random() < 0.25 else label
        return f"{label}{sep}{value}"
    if roll < 0.7:
        qty = rng.randint(1, 24)
        item = rng.choice(COMMON).capitalize() if rng.random() < 0.7 else rng.choice(COMMON).upper()
        return f"{qty} x {item} {rng.choice(CURRENCY_SIGNS)}{rng.randint(0, 99)}.{_digits(rng, 2)}"
    if roll < 0.8:
        return f"Page {rng.randint(1, 20)} of {rng.randint(20, 400)}"
    if roll < 0.9:
        word = rng.choice(COMMON)
        return f"{rng.randint(5, 90)}% off {word}{rng.choice(('!', '', '*', '!!'))}"
    return f"{rng.choice(('Order', 'Parcel', 'Ticket', 'Case', 'Invoice'))} {t_code(rng)} {rng.choice(COMMON)}"


def t_symbols(rng: random.Random) -> str:
    """Code-like and technical strings that use the rarer ASCII symbols."""
    w1, w2 = rng.choice(COMMON), rng.choice(COMMON)
    n1, n2 = rng.randint(0, 99), rng.randint(0, 99)
    forms = (
        f"[{w1.upper()}]",
        f"{{{w1}}}",
        f"{w1}_{w2}",
        f"{w1} = {n1}",
        f"{w1}={n1}&{w2}={n2}",
        f"x < {n1}",
        f"{n1} > {n2}",
        f"a + b = {n1}",
        f"{n1} * {n2}",
        f"{n1} ^ 2",
        f"x^{n1 % 10}",
        f"C:\\{w1.capitalize()}\\{w2}.txt",
        f"~/{w1}/{w2}",
        f"`{w1}`",
        f"<{w1}>",
        f"</{w1}>",
        f"{w1} | {w2}",
        f"*{w1}*",
        f"#{w1}{w2}",
        f"@{w1}_{n1}",
        f"{w1}({n1}, {n2});",
        f"[{n1}, {n2}]",
        f"{w1}[{n1}]",
        f"{w1} && {w2}",
        f"!{w1}",
        f"{w1}?{w2}",
        f"${{{w1.upper()}}}",
        f"{w1} ~ {n1}",
        f'"{w1}": {n1}',
        f"'{w1}'",
        f"{n1}/{n2}/{w1}",
        f"{w1} -> {w2}",
        f"{w1} <= {n1}",
        f"/* {w1} */",
        f"// {w1} {w2}",
        f"{w1}.{w2}()",
        f"% {w1}",
        f"{n1}% @ {n2}",
        f"{w1} | {w2} | {n1}",
        f"|{w1}|",
        f"{{{n1}: {w1}}}",
        f"{w1}\\{w2}",
        f"{n1} ~{n2}",
        f"~{w1}",
        f"{w1}^{w2}",
        f"`{w1} {w2}`",
        f"{w1}{{{n1}}}",
    )
    return rng.choice(forms)


def t_short(rng: random.Random) -> str:
    """Single characters, abbreviations and 2-4 character strings."""
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(string.ascii_letters + string.digits + PUNCTUATION)
    if roll < 0.55:
        return rng.choice(ABBREVIATIONS)
    if roll < 0.75:
        pool = rng.choice((string.ascii_uppercase + string.digits, string.ascii_letters, string.digits + ".,-/:"))
        return "".join(rng.choice(pool) for _ in range(rng.randint(2, 4)))
    if roll < 0.9:
        return rng.choice((f"{rng.choice(string.ascii_uppercase)}{rng.randint(1, 99)}", f"#{rng.randint(1, 9)}"))
    return rng.choice(COMMON[:400])[: rng.randint(2, 4)] + rng.choice(("", ".", ":", "-"))


# Value generator -> labels that fit it, for "Label: value" lines.
FIELD_LABELS: dict[Callable[[random.Random], str], tuple[str, ...]] = {
    t_number: _words("Qty Quantity Page Item Room Floor Seat Gate Platform Weight Size Count Units Score No."),
    t_price: _words("Total Subtotal Tax VAT Amount Balance Price Paid Change Cash Deposit Fee Total_due Amount_paid"),
    t_date: _words("Date Due Expires Valid_from Issued Delivered Ordered Born Updated"),
    t_time: _words("Time Departure Arrival Opens Closes Start End Pickup"),
    t_code: _words(
        """Ref Invoice Order Account Code SKU ID Serial Model Batch Lot Ticket Booking_ref Member Policy Claim
        Case Order_no."""
    ),
    t_phone: _words("Phone Tel Fax Mobile Cell Office Hotline"),
    t_email: _words("Email E-mail Contact Reply-To From To"),
    t_name_place: _words("Name Customer Address Ship_to Bill_to Attn Signed Agent Driver Location"),
}

# Category -> weight. Plain words dominate, as they do on most documents.
CATEGORIES: tuple[tuple[Callable[[random.Random], str], int], ...] = (
    (t_words, 30),
    (t_name_place, 8),
    (t_number, 8),
    (t_price, 6),
    (t_date, 6),
    (t_time, 4),
    (t_email, 4),
    (t_url, 4),
    (t_code, 7),
    (t_phone, 4),
    (t_field, 10),
    (t_symbols, 6),
    (t_short, 5),
)


def is_valid(text: str) -> bool:
    """True for printable ASCII of MIN_CHARS..MAX_CHARS characters, no space at either end and no
    double space."""
    return MIN_CHARS <= len(text) <= MAX_CHARS and bool(VALID_TEXT.fullmatch(text))


def make_texts(n: int, seed: int) -> list[str]:
    """``n`` distinct valid lines, each from a category picked by weight, deterministic for
    ``seed`` and prefix-stable in ``n``."""
    return unique_texts(n, seed, CATEGORIES, is_valid, "texts")


def main(argv: list[str] | None = None) -> int:
    """Print sample texts, or with ``--lm-text`` write the training texts of a corpus of the given
    split sizes (test first, then dev, then train, as ``prepare.py`` carves them) for ``recog lm
    --text``: a larger ``--num-train`` than the corpus rendered only adds texts, never a dev or test one."""
    import argparse

    from recipes.common import split_texts, write_lm_text

    p = argparse.ArgumentParser(description="Texts of the synthetic OCR corpus")
    p.add_argument("--num-train", type=int, default=20000)
    p.add_argument("--num-dev", type=int, default=500)
    p.add_argument("--num-test", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample", type=int, default=20, help="print this many training texts")
    p.add_argument("--lm-text", type=Path, help="write the training texts here, one per line")
    args = p.parse_args(argv)
    train = split_texts(make_texts, args)["train"]
    print("\n".join(train[: args.sample]))
    if args.lm_text:
        write_lm_text(args.lm_text, train)
        print(f"wrote {len(train)} training texts to {args.lm_text}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
