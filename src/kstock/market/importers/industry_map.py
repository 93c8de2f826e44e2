"""Map KRX industry names (KSIC-based, as in the KRX listing) onto kstock's sectors (``sectors.SECTORS``).

KRX publishes about 160 industry names such as "반도체 제조업" or "기타 금융업"; kstock groups stocks by the
18 KRX industry-index sectors. The rules below are ordered keyword matches: the first keyword contained in the
industry name decides. Trade ("도매", "소매", "판매") and rental ("임대") come first because they name the
business model even when a product keyword follows ("자동차 판매업" is retail, not cars). KRX's own
"기타제조업" group has no counterpart in the taxonomy, so those few industries go to the nearest consumer-goods
sector. An industry matching no keyword gets :data:`FALLBACK_SECTOR`.
"""

from __future__ import annotations

from typing import Final

FALLBACK_SECTOR: Final = "기타"

_RULES: Final[tuple[tuple[str, str], ...]] = (
    # Business model first: trade and rental.
    ("도매", "유통업"),
    ("소매", "유통업"),
    ("판매업", "유통업"),
    ("상품 중개", "유통업"),
    ("부동산", "서비스업"),
    ("임대업", "서비스업"),
    # Finance (holding companies are "기타 금융업"; SPACs are "금융 지원 서비스업").
    ("금융", "금융업"),
    ("은행", "금융업"),
    ("보험", "금융업"),
    ("신탁업", "금융업"),
    ("회사 본부", "금융업"),
    # Electronics and electrical equipment.
    ("반도체", "전기전자"),
    ("전자부품", "전기전자"),
    ("컴퓨터 및 주변장치", "전기전자"),
    ("통신 및 방송 장비", "전기전자"),
    ("영상 및 음향기기", "전기전자"),
    ("가정용 기기", "전기전자"),
    ("전지", "전기전자"),
    ("전동기", "전기전자"),
    ("전기장비", "전기전자"),
    ("절연선", "전기전자"),
    ("조명장치", "전기전자"),
    ("매체 제조", "전기전자"),
    # Medical and precision instruments.
    ("의료용 기기", "의료정밀"),
    ("정밀기기", "의료정밀"),
    ("광학기기", "의료정밀"),
    # Pharmaceuticals; KRX's R&D firms are overwhelmingly biotech.
    ("의약", "의약품"),
    ("의료용품", "의약품"),
    ("연구개발", "의약품"),
    # Transport equipment ("운송장비 임대업" already went to services).
    ("자동차", "운수장비"),
    ("선박", "운수장비"),
    ("항공기", "운수장비"),
    ("철도장비", "운수장비"),
    ("운송장비", "운수장비"),
    # Transport and storage services.
    ("운송업", "운수창고업"),
    ("운송관련", "운수창고업"),
    ("창고", "운수창고업"),
    # Chemicals before textiles, so "화학섬유" is chemicals.
    ("화학", "화학"),
    ("플라스틱", "화학"),
    ("고무", "화학"),
    ("석유", "화학"),
    ("비료", "화학"),
    ("그외 기타 제품 제조업", "화학"),
    # Metals.
    ("철강", "철강금속"),
    ("비철금속", "철강금속"),
    ("금속 주조", "철강금속"),
    ("금속 가공제품", "철강금속"),
    # Machinery (boilers, tanks and structural metal work are plant machinery in KRX's grouping).
    ("구조용 금속제품", "기계"),
    ("기계", "기계"),
    ("무기 및 총포탄", "기계"),
    ("악기", "기계"),
    # Utilities.
    ("전기업", "전기가스업"),
    ("가스", "전기가스업"),
    ("증기, 냉·온수", "전기가스업"),
    # Telecoms.
    ("전기 통신", "통신업"),
    ("통신업", "통신업"),
    # Construction.
    ("건설", "건설업"),
    ("공사업", "건설업"),
    ("건축기술", "건설업"),
    # Non-metallic minerals.
    ("시멘트", "비금속광물"),
    ("유리", "비금속광물"),
    ("요업", "비금속광물"),
    ("비금속 광물", "비금속광물"),
    # Food, beverages, tobacco, agriculture and fishing.
    ("식품", "음식료품"),
    ("식료품", "음식료품"),
    ("음료", "음식료품"),
    ("담배", "음식료품"),
    ("곡물", "음식료품"),
    ("과실", "음식료품"),
    ("육류", "음식료품"),
    ("낙농", "음식료품"),
    ("사료", "음식료품"),
    ("과자", "음식료품"),
    ("수산물", "음식료품"),
    ("도시락", "음식료품"),
    ("어업", "음식료품"),
    ("작물", "음식료품"),
    # Textiles, apparel and accessories.
    ("의복", "섬유의복"),
    ("섬유", "섬유의복"),
    ("직물", "섬유의복"),
    ("방적", "섬유의복"),
    ("편조", "섬유의복"),
    ("가죽", "섬유의복"),
    ("신발", "섬유의복"),
    ("귀금속", "섬유의복"),
    ("운동 및 경기용구", "섬유의복"),
    # Paper, wood, furniture and printing (publishing is a service).
    ("출판", "서비스업"),
    ("종이", "종이목재"),
    ("펄프", "종이목재"),
    ("판지", "종이목재"),
    ("목재", "종이목재"),
    ("나무", "종이목재"),
    ("가구", "종이목재"),
    ("인쇄", "종이목재"),
    # Everything else that names a service.
    ("서비스", "서비스업"),
    ("소프트웨어", "서비스업"),
    ("프로그래밍", "서비스업"),
    ("정보", "서비스업"),
    ("광고", "서비스업"),
    ("방송", "서비스업"),
    ("영화", "서비스업"),
    ("오디오", "서비스업"),
    ("교육", "서비스업"),
    ("학원", "서비스업"),
    ("숙박", "서비스업"),
    ("음식점", "서비스업"),
    ("여행", "서비스업"),
    ("오락", "서비스업"),
    ("디자인", "서비스업"),
    ("조사업", "서비스업"),
    ("경비", "서비스업"),
    ("수리업", "서비스업"),
    ("폐기물", "서비스업"),
    ("원료 재생", "서비스업"),
    ("복제업", "서비스업"),
    ("컨설팅", "서비스업"),
)


def sector_for_industry(industry: str | None) -> str | None:
    """kstock sector for a KRX industry name; None for no industry, :data:`FALLBACK_SECTOR` when unknown."""
    if not industry:
        return None
    for keyword, sector in _RULES:
        if keyword in industry:
            return sector
    return FALLBACK_SECTOR
