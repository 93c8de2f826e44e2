"""Who is in the demo dataset and what they report: the real large caps and synthetic Korean companies (names,
codes, ISINs, markets, sectors, listing dates, share counts), each stock's parameters for the price model, and
their quarterly and annual financial statements.

Deterministic for a seed and prefix-stable: per-stock numbers are drawn row by row from generators keyed by the
seed (and the year, for statements), and names and codes are handed out in stock order, so the first N
instruments are the same whatever the total count.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from kstock.kit.calendar import is_trading_day
from kstock.kit.krx import Market
from kstock.market.sectors import SECTORS

REFERENCE_DATE: Final = dt.date(2026, 3, 20)  # large caps at their real levels; fundamentals scaled to it

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class LargeCap(NamedTuple):
    """A real large cap under its real code; price and share count as of the reference date (2026-03-20)."""

    code: str
    name: str
    name_en: str
    sector: str
    industry: str
    listing_date: dt.date
    shares: int
    ref_price: int
    per: float
    pbr: float
    payout: float


# Prices and share counts from the KRX quote snapshot of 2026-03-20; PER, PBR and payout are round, plausible
# figures, not reported ones.
# code | name | English name | sector | industry | listed | shares | price | PER | PBR | payout
_LARGE_CAP_TABLE: Final = """
005930|삼성전자|Samsung Electronics|전기전자|반도체|1975-06-11|5919637922|199400|16|2.0|0.25
000660|SK하이닉스|SK hynix|전기전자|반도체|1996-12-26|712702365|1007000|11|3.5|0.10
005380|현대차|Hyundai Motor|운수장비|자동차|1974-06-28|204757766|517000|9|1.1|0.25
035420|NAVER|NAVER|서비스업|인터넷|2008-11-28|156852638|221500|18|1.3|0.20
035720|카카오|Kakao|서비스업|인터넷|2017-07-10|442766428|50000|55|2.1|0.10
373220|LG에너지솔루션|LG Energy Solution|전기전자|전자부품|2022-01-27|234000000|375500|80|3.9|0
207940|삼성바이오로직스|Samsung Biologics|의약품|바이오|2016-11-10|46290951|1601000|60|4.0|0
005490|POSCO홀딩스|POSCO Holdings|철강금속|철강|1988-06-10|80932952|343500|22|0.5|0.45
051910|LG화학|LG Chem|화학|기초화학|2001-04-25|70592343|310000|28|0.8|0.15
006400|삼성SDI|Samsung SDI|전기전자|전자부품|1979-02-27|80585530|400500|35|1.3|0.05
068270|셀트리온|Celltrion|의약품|바이오|2018-02-09|231048261|202000|45|2.4|0.10
105560|KB금융|KB Financial Group|금융업|은행|2008-10-10|372850455|155200|9|0.8|0.35
"""


def _large_cap(line: str) -> LargeCap:
    code, name, name_en, sector, industry, listed, shares, price, per, pbr, payout = line.split("|")
    return LargeCap(
        code, name, name_en, sector, industry, dt.date.fromisoformat(listed), int(shares), int(price),
        float(per), float(pbr), float(payout),
    )  # fmt: skip


LARGE_CAPS: Final = tuple(_large_cap(line) for line in _LARGE_CAP_TABLE.strip().splitlines())


def _words(table: str) -> tuple[tuple[str, str], ...]:
    """``한국=Korea 대한=Daehan`` -> (("한국", "Korea"), ("대한", "Daehan")); ``_`` stands for a space."""
    pairs = (word.split("=") for word in table.split())
    return tuple((korean, english.replace("_", " ")) for korean, english in pairs)


# Words that read like Korean listed-company names; group names (삼성, 현대, LG, SK...) are left out so no
# synthetic name passes for a real group company.
PREFIXES: Final = _words("""
    한국=Korea 대한=Daehan 동양=Dongyang 케이=K 에이치=H 서울=Seoul 부산=Busan 대성=Daesung 동아=Dong-A
    세원=Sewon 한일=Hanil 미래=Mirae 태평양=Pacific 한솔=Hansol 대원=Daewon 코리아=Korea 유니=Uni 제이=J
    에스=S 엠=M 디=D 티=T 아이=I 엔=N 넥스=Nex 하이=Hi 뉴=New 스마트=Smart 그린=Green 블루=Blue
    골든=Golden 퍼스트=First 삼화=Samhwa 신흥=Shinheung 동방=Dongbang 대창=Daechang 우진=Woojin
    성광=Sunggwang 일진=Iljin 화인=Hwain 광명=Gwangmyeong 영풍=Youngpoong 청담=Cheongdam 한빛=Hanbit
    새한=Saehan 인터=Inter 에코=Eco 나노=Nano 비전=Vision 오성=Osung 경동=Kyungdong 국제=Kukje
    남양=Namyang 대주=Daeju 유진=Eugene 한미=Hanmi 금강=Geumgang 백두=Baekdu 한라=Halla 태양=Taeyang
    중앙=Joongang 선진=Sunjin 정우=Jungwoo 알파=Alpha 오메가=Omega 제일=Jeil 동원=Dongwon 아진=Ajin
""")
# Mostly empty: most names are prefix + stem, a few carry a corporate suffix.
SUFFIXES: Final = (("", ""),) * 6 + _words("홀딩스=Holdings 글로벌=Global 코리아=Korea 인더스트리=Industry 이엔지=E&G")
_GENERIC_STEMS: Final = _words("산업=Industries 테크=Tech 시스템=Systems 솔루션=Solutions")
_FINANCIAL_INDUSTRIES: Final = frozenset({"은행", "증권", "보험", "지주회사"})
_STEM_TABLE: Final = """
반도체: 반도체=Semiconductor 세미콘=Semicon 테크=Tech 머티리얼즈=Materials
전자부품: 전자=Electronics 일렉트릭=Electric 부품=Components 전기=Electric
디스플레이: 디스플레이=Display 광학=Optics 옵틱스=Optics
통신장비: 텔레콤=Telecom 네트웍스=Networks 통신=Communications 와이어리스=Wireless
가전: 전자=Electronics 가전=Appliances 홈테크=Hometech
기초화학: 화학=Chemical 유화=Petrochemical 케미칼=Chemical
정밀화학: 정밀화학=Fine_Chemical 케미칼=Chemical 소재=Materials
2차전지소재: 에너지=Energy 배터리=Battery 머티리얼즈=Materials 소재=Materials
화장품: 코스메틱=Cosmetics 뷰티=Beauty 화장품=Cosmetics
제약: 제약=Pharmaceutical 약품=Pharm 파마=Pharma
바이오: 바이오=Bio 바이오텍=Biotech 제네틱스=Genetics 셀=Cell 테라퓨틱스=Therapeutics
의료기기: 메디칼=Medical 메디텍=Meditech 헬스케어=Healthcare
정밀기기: 정밀=Precision 계측=Instruments 인스트루먼트=Instruments
자동차: 모터스=Motors 자동차=Motor 오토=Auto
자동차부품: 오토텍=Autotech 공업=Industrial 모빌리티=Mobility 부품=Parts
조선: 중공업=Heavy_Industries 조선=Shipbuilding 해양=Marine
항공우주: 에어로=Aero 항공=Aerospace 스페이스=Space
철강: 철강=Steel 제강=Steel 스틸=Steel
비철금속: 금속=Metal 메탈=Metal 알루미늄=Aluminium
산업기계: 기계=Machinery 엔지니어링=Engineering 중기=Heavy_Equipment
공작기계: 공작기계=Machine_Tools 정공=Precision 기공=Machine_Works
로봇: 로보틱스=Robotics 로봇=Robot 오토메이션=Automation
은행: 금융=Financial 은행=Bank 금융그룹=Financial_Group
증권: 증권=Securities 투자증권=Investment_&_Securities
보험: 생명=Life_Insurance 화재=Fire_&_Marine 손해보험=Insurance
지주회사: 홀딩스=Holdings 지주=Holdings 앤컴퍼니=&_Company
인터넷: 닷컴=.com 인터넷=Internet 플랫폼=Platform
게임: 게임즈=Games 엔터테인먼트=Entertainment 스튜디오=Studio
소프트웨어: 소프트=Soft 정보통신=Information_&_Communication 데이타=Data 클라우드=Cloud
엔터테인먼트: 엔터=Entertainment 미디어=Media 픽처스=Pictures 뮤직=Music
광고: 애드=Ad 기획=Communications 마케팅=Marketing
백화점: 백화점=Department_Store 쇼핑=Shopping
편의점: 리테일=Retail 마트=Mart 유통=Distribution
온라인쇼핑: 커머스=Commerce 몰=Mall 홈쇼핑=Home_Shopping
무역: 상사=Trading 무역=Trading 인터내셔널=International
식품: 식품=Foods 푸드=Food 제과=Confectionery
음료: 음료=Beverage 워터=Water
주류: 주조=Brewery 양조=Brewing
건설: 건설=Construction 개발=Development 이앤씨=E&C
건자재: 건업=Building_Materials 자재=Materials 산업=Industries
무선통신: 모바일=Mobile 텔레콤=Telecom
유선통신: 브로드밴드=Broadband 케이블=Cable
해운: 해운=Shipping 상선=Merchant_Marine 마린=Marine
항공운송: 에어=Air 항공=Airlines
물류: 로지스틱스=Logistics 물류=Logistics 운수=Transport
전력: 전력=Power 에너지=Energy 파워=Power
가스: 가스=Gas 도시가스=City_Gas
의류: 패션=Fashion 어패럴=Apparel
섬유: 방직=Spinning 섬유=Textile 화섬=Synthetic_Fiber
제지: 제지=Paper 페이퍼=Paper
목재: 목재=Wood 우드=Wood
시멘트: 시멘트=Cement 양회=Cement
유리: 유리=Glass 글라스=Glass
"""
STEMS_BY_INDUSTRY: Final = {
    industry.strip(): _words(words)
    for industry, words in (line.split(":") for line in _STEM_TABLE.strip().splitlines())
}


def synthetic_names(industries: Sequence[str], seed: int) -> list[tuple[str, str]]:
    """A unique (Korean, English) name per stock, built from words that fit its industry."""
    # random.Random with an int seed is stable across Python versions; drawing in stock order keeps the first N
    # names independent of how many follow.
    rnd = random.Random(seed)
    taken = {large.name for large in LARGE_CAPS}
    names: list[tuple[str, str]] = []
    for industry in industries:
        stems = STEMS_BY_INDUSTRY.get(industry, _GENERIC_STEMS)
        for attempt in range(1_000):
            prefix, stem, suffix = rnd.choice(PREFIXES), rnd.choice(stems), rnd.choice(SUFFIXES)
            if industry in _FINANCIAL_INDUSTRIES:  # 금융그룹홀딩스 reads wrong
                suffix = SUFFIXES[0]
            if attempt >= 50:  # the industry's words are used up
                stem = rnd.choice(_GENERIC_STEMS)
            name = prefix[0] + stem[0] + suffix[0]
            if name not in taken:
                break
        else:
            name = f"{name}{len(names)}"
        taken.add(name)
        names.append((name, " ".join(part for part in (prefix[1], stem[1], suffix[1]) if part)))
    return names


def synthetic_codes(alphanumeric: Sequence[bool], seed: int) -> list[str]:
    """Unique common-share codes (ending in 0) that never collide with the large caps'."""
    reserved = {int(large.code[:5]) for large in LARGE_CAPS}
    # One fixed permutation per seed, so the first N codes do not depend on N.
    pool = rng(seed, 0xC0DE).permutation(np.arange(100, 50_000))
    numeric = (f"{n:05d}0" for n in pool.tolist() if n not in reserved)
    codes: list[str] = []
    lettered = 0
    for is_alphanumeric in alphanumeric:
        if is_alphanumeric:  # KRX has issued codes such as 0099X0 since 2024
            codes.append(f"{10 + lettered // 26:04d}{string.ascii_uppercase[lettered % 26]}0")
            lettered += 1
        else:
            codes.append(next(numeric))
    return codes


def isin(code: str) -> str:
    """The Korean ISIN of a common share: ``KR7`` + code + ``00`` + the Luhn check digit (``KR7005930003``)."""
    body = f"KR7{code}00"
    digits = "".join(str(int(char, 36)) for char in body)
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return f"{body}{(10 - total % 10) % 10}"


_UNIFORM_STREAM, _NORMAL_STREAM, _NAME_STREAM, _FINANCE_STREAM = 11, 12, 13, 14

# (KOSPI, KOSDAQ and KONEX) weights: KOSDAQ leans to tech, bio and services, KOSPI to heavy industry and finance.
_SECTOR_WEIGHTS: Final[dict[str, tuple[float, float]]] = {
    "전기전자": (14, 25), "화학": (11, 8), "의약품": (6, 15), "의료정밀": (2, 7), "운수장비": (10, 6),
    "철강금속": (6, 3), "기계": (6, 8), "금융업": (10, 3), "서비스업": (7, 16), "유통업": (7, 4), "음식료품": (5, 2),
    "건설업": (4, 2), "통신업": (1, 0.5), "운수창고업": (3, 1), "전기가스업": (2, 0.5), "섬유의복": (3, 1),
    "종이목재": (2, 1), "비금속광물": (1, 1),
}  # fmt: skip
OPERATING_MARGIN: Final[dict[str, float]] = {
    "전기전자": 0.09, "화학": 0.07, "의약품": 0.12, "의료정밀": 0.10, "운수장비": 0.06, "철강금속": 0.06, "기계": 0.07,
    "금융업": 0.20, "서비스업": 0.12, "유통업": 0.04, "음식료품": 0.06, "건설업": 0.05, "통신업": 0.08,
    "운수창고업": 0.07, "전기가스업": 0.05, "섬유의복": 0.06, "종이목재": 0.05, "비금속광물": 0.07,
}  # fmt: skip


class _Profile(NamedTuple):
    share: float  # upper bound of the market's slice of [0, 1) for the market draw
    price: float  # median price at the reference date
    shares: float  # median share count
    volatility: float  # median daily idiosyncratic volatility
    turnover: float  # median daily volume / shares
    loss_share: float
    no_dividend_share: float
    opened: dt.date


_PROFILES: Final = {
    Market.KOSPI: _Profile(0.32, 15_000, 30e6, 0.017, 0.003, 0.08, 0.15, dt.date(1976, 1, 5)),
    Market.KOSDAQ: _Profile(0.975, 6_000, 15e6, 0.026, 0.012, 0.16, 0.40, dt.date(1996, 7, 1)),
    Market.KONEX: _Profile(1.0, 3_000, 6e6, 0.022, 0.0008, 0.20, 0.70, dt.date(2013, 7, 1)),
}
_KOSDAQ_SEGMENTS: Final = ("중견기업부", "우량기업부", "벤처기업부", "기술성장기업부", "KOSDAQ GLOBAL")
_KOSDAQ_SEGMENT_CUTS: Final = np.array([0.32, 0.59, 0.81, 0.97])
_LAST_LISTING: Final = dt.date(2022, 12, 29)  # so every stock trades from the earliest allowed end date on


@dataclass(frozen=True, slots=True)
class StockParams:
    """Per-stock parameters of the price and earnings models, one array element per stock."""

    shares: Floats
    ref_price: Floats  # at the reference date
    volatility: Floats  # daily, idiosyncratic
    beta: Floats
    drift: Floats  # annual, log
    t_df: Floats  # degrees of freedom of the Student-t returns
    turnover: Floats  # daily volume / shares
    per: Floats  # target at the reference date (profitable stocks)
    pbr: Floats
    psr: Floats  # price / sales, for loss-makers
    payout: Floats
    operating_margin: Floats  # negative for loss-makers
    growth: Floats  # annual revenue growth
    leverage: Floats  # assets / equity


@dataclass(frozen=True, slots=True)
class Universe:
    """The instruments (large caps first) and their model parameters."""

    codes: list[str]
    instrument_rows: list[tuple[Any, ...]]
    listing_dates: list[dt.date]
    sector_index: Ints
    is_konex: Bools
    loss_maker: Bools
    params: StockParams


def rng(seed: int, *keys: int) -> np.random.Generator:
    """The generator for one stream of the demo: keyed by the seed and the stream's keys (e.g. a year)."""
    return np.random.default_rng([seed % 2**63, *keys])


def _listing_date(opened: dt.date, fraction: float) -> dt.date:
    day = opened + dt.timedelta(days=int(fraction * (_LAST_LISTING - opened).days))
    while not is_trading_day(day):
        day += dt.timedelta(days=1)
    return day


def _large_cap_params() -> dict[str, list[float]]:
    count = len(LARGE_CAPS)
    return {
        "shares": [lc.shares for lc in LARGE_CAPS],
        "ref_price": [lc.ref_price for lc in LARGE_CAPS],
        "volatility": [0.022 if lc.sector == "의약품" else 0.017 for lc in LARGE_CAPS],
        "beta": [1.0] * count,
        "drift": [0.03] * count,
        "t_df": [4.0] * count,
        "turnover": [0.002] * count,
        "per": [lc.per for lc in LARGE_CAPS],
        "pbr": [lc.pbr for lc in LARGE_CAPS],
        "psr": [1.0] * count,
        "payout": [lc.payout for lc in LARGE_CAPS],
        "operating_margin": [OPERATING_MARGIN.get(lc.sector, 0.07) * 1.5 for lc in LARGE_CAPS],
        "growth": [0.07] * count,
        "leverage": [12.0 if lc.sector == "금융업" else 1.5 for lc in LARGE_CAPS],
    }


def _pick_sector(market: str, draw: float) -> str:
    names = list(SECTORS)
    weights = np.cumsum([_SECTOR_WEIGHTS.get(name, (1, 1))[market != Market.KOSPI] for name in names])
    return names[min(int(np.searchsorted(weights, draw * weights[-1], side="right")), len(names) - 1)]


def build_universe(stocks: int, seed: int) -> Universe:
    """The large caps plus synthetic stocks up to ``stocks`` instruments (never fewer than the large caps)."""
    count = max(stocks, len(LARGE_CAPS)) - len(LARGE_CAPS)
    key = seed % 2**63
    uniform = rng(seed, _UNIFORM_STREAM).random((count, 9))
    normal = rng(seed, _NORMAL_STREAM).standard_normal((count, 12))
    markets = [next(m for m, p in _PROFILES.items() if draw < p.share) for draw in uniform[:, 0].tolist()]
    sectors = [_pick_sector(market, draw) for market, draw in zip(markets, uniform[:, 1].tolist(), strict=True)]
    industries = [SECTORS[s][int(draw * len(SECTORS[s]))] for s, draw in zip(sectors, uniform[:, 2], strict=True)]
    profiles = [_PROFILES[market] for market in markets]

    def by_market(field: str) -> Floats:
        return np.array([getattr(profile, field) for profile in profiles], dtype=np.float64)

    loss = uniform[:, 3] < by_market("loss_share")
    margin = np.array([OPERATING_MARGIN.get(sector, 0.07) for sector in sectors])
    per = np.clip(np.exp(np.log(12) + 0.45 * normal[:, 6]), 5, 80)
    roe = np.clip(0.09 + 0.05 * normal[:, 7], 0.01, 0.30)
    lender = np.array([s == "금융업" and i != "지주회사" for s, i in zip(sectors, industries, strict=True)], dtype=bool)
    synthetic: dict[str, Floats] = {
        "shares": np.clip(np.exp(np.log(by_market("shares")) + 0.8 * normal[:, 1]), 1e6, 2e9).round(-3),
        "ref_price": np.clip(np.exp(np.log(by_market("price")) + 0.9 * normal[:, 0]), 300, 900_000),
        "volatility": np.clip(by_market("volatility") * np.exp(0.3 * normal[:, 2]), 0.008, 0.06),
        "beta": np.clip(1 + 0.3 * normal[:, 3], 0.3, 2.0),
        "drift": 0.02 + 0.06 * normal[:, 4],
        "t_df": np.where(np.array(markets) == Market.KOSPI, 4.0, 3.0),
        "turnover": by_market("turnover") * np.exp(0.7 * normal[:, 5]),
        "per": per,
        # ROE = PBR / PER stays believable because PBR is drawn through ROE.
        "pbr": np.clip(np.where(loss, np.exp(np.log(1.3) + 0.5 * normal[:, 7]), roe * per), 0.3, 4.0),
        "psr": np.exp(np.log(2.5) + 0.6 * normal[:, 11]),
        "payout": np.where(loss | (uniform[:, 4] < by_market("no_dividend_share")), 0.0, 0.1 + 0.35 * uniform[:, 5]),
        "operating_margin": np.where(
            loss, -(0.03 + 0.25 * uniform[:, 5]), np.clip(margin * np.exp(0.35 * normal[:, 9]), 0.01, 0.45)
        ),
        "growth": np.clip(0.05 + 0.08 * normal[:, 8], -0.15, 0.40),
        "leverage": np.where(lender, 11.0, 1.8) * np.exp(np.where(lender, 0.15, 0.25) * normal[:, 10]),
    }
    large = _large_cap_params()
    params = StockParams(**{name: np.concatenate([np.array(large[name]), synthetic[name]]) for name in synthetic})

    codes = [lc.code for lc in LARGE_CAPS] + synthetic_codes((uniform[:, 7] < 0.015).tolist(), seed)
    names = [(lc.name, lc.name_en) for lc in LARGE_CAPS] + synthetic_names(industries, key + _NAME_STREAM)
    all_markets = [str(Market.KOSPI)] * len(LARGE_CAPS) + [str(market) for market in markets]
    all_sectors = [lc.sector for lc in LARGE_CAPS] + sectors
    listing_dates = [lc.listing_date for lc in LARGE_CAPS] + [
        _listing_date(p.opened, fraction**0.6) for p, fraction in zip(profiles, uniform[:, 6].tolist(), strict=True)
    ]
    segments = [None] * len(LARGE_CAPS) + [
        _KOSDAQ_SEGMENTS[int(np.searchsorted(_KOSDAQ_SEGMENT_CUTS, draw))] if market == Market.KOSDAQ
        else "일반기업부" if market == Market.KONEX else None
        for market, draw in zip(markets, uniform[:, 8].tolist(), strict=True)
    ]  # fmt: skip
    rows = [
        (code, isin(code), name, name_en, market, segment, sector, industry, listed, int(shares), 12, "active")
        for code, (name, name_en), market, segment, sector, industry, listed, shares in zip(
            codes, names, all_markets, segments, all_sectors, [lc.industry for lc in LARGE_CAPS] + industries,
            listing_dates, params.shares.tolist(), strict=True,
        )
    ]  # fmt: skip
    is_konex = np.array([market == Market.KONEX for market in all_markets], dtype=bool)
    return Universe(
        codes=codes,
        instrument_rows=rows,
        listing_dates=listing_dates,
        sector_index=np.array([list(SECTORS).index(sector) for sector in all_sectors], dtype=np.int64),
        is_konex=is_konex,
        loss_maker=np.concatenate([np.zeros(len(LARGE_CAPS), dtype=bool), loss]),
        params=params,
    )


def _report_date(year: int, quarter: int) -> dt.date:
    """Quarterly reports are due 45 days after the quarter, the fourth quarter and the year's 90 days after."""
    if quarter == 4:
        return dt.date(year, 12, 31) + dt.timedelta(days=90)
    return dt.date(year, 3 * quarter, 30 if quarter in (2, 3) else 31) + dt.timedelta(days=45)


def statement_rows(universe: Universe, first_year: int, end: dt.date, seed: int) -> list[tuple[Any, ...]]:
    """Quarterly and annual statement rows from ``first_year`` on, as reported by ``end``.

    Revenue follows the stock's growth rate plus a random walk; the fiscal year before the reference date is
    scaled so that earnings and book value match the target PER and PBR at the reference price.
    """
    anchor_year = REFERENCE_DATE.year - 1
    years = list(range(min(first_year, anchor_year), max(end.year, anchor_year) + 1))
    count, params = len(universe.codes), universe.params
    noise = np.concatenate([rng(seed, _FINANCE_STREAM, year).standard_normal((count, 4, 3)) for year in years], axis=1)
    anchor = years.index(anchor_year) * 4 + 3  # its fourth quarter
    elapsed = (np.arange(len(years) * 4) - anchor)[None, :] / 4
    walk = np.cumsum(0.035 * noise[..., 0], axis=1)
    level = params.growth[:, None] * elapsed + walk - walk[:, anchor : anchor + 1]
    margin = params.operating_margin
    cap = params.ref_price * params.shares
    # Loss-makers have no PER to aim at: their size comes from a price/sales ratio.
    annual_revenue = np.where(universe.loss_maker, cap / params.psr, cap / params.per / (np.abs(margin) * 0.78))
    revenue = (annual_revenue / 4)[:, None] * np.exp(level + 0.03 * noise[..., 1])
    operating = revenue * (margin[:, None] + (0.01 + 0.2 * np.abs(margin))[:, None] * noise[..., 2])
    # Taxes and non-operating items: profits shrink, losses grow a little.
    net = operating * np.where(operating > 0, 0.78, 1.1)
    retained = np.where(universe.loss_maker, -0.1, np.clip(params.pbr / params.per * (1 - params.payout), 0, 0.25))
    equity = (cap / params.pbr)[:, None] * np.exp(retained[:, None] * elapsed)
    assets = equity * params.leverage[:, None]
    shares = params.shares[:, None]
    quarterly = [revenue, operating, net, assets, assets - equity, equity, net / shares, equity / shares]
    by_year = count, len(years), 4
    annual = [m.reshape(by_year).sum(axis=2) for m in (revenue, operating, net)]
    annual += [m.reshape(by_year)[..., 3] for m in (assets, assets - equity, equity)]
    annual += [annual[2] / shares, annual[5] / shares]
    # DPS in 5-won steps, at most 5% of the reference price so yields stay in the usual 0-5% range.
    dps = np.minimum(np.maximum(np.rint(annual[6]), 0) * params.payout[:, None], 0.05 * params.ref_price[:, None])
    annual.append(np.floor(dps / 5) * 5)
    q_values = [np.rint(m).astype(np.int64).tolist() for m in quarterly]
    a_values = [np.rint(m).astype(np.int64).tolist() for m in annual]
    periods: list[tuple[int, int, dt.date, int]] = []  # (year, quarter or 0, report date, column)
    for offset, year in enumerate(years):
        if year >= first_year:
            periods += [(year, q, _report_date(year, q), offset * 4 + q - 1) for q in range(1, 5)]
            periods.append((year, 0, _report_date(year, 4), offset))
    rows: list[tuple[Any, ...]] = []
    for stock, code in enumerate(universe.codes):
        for year, quarter, report, column in periods:
            if report <= end:
                figures = [series[stock][column] for series in (q_values if quarter else a_values)]
                period_type = "quarterly" if quarter else "annual"
                rows.append((code, period_type, year, quarter, report, *figures[:8], None if quarter else figures[8]))
    return rows
