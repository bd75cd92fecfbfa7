#!/usr/bin/env python3
"""Regenerate the demo data of the distilkobert project (deterministic, standard library only).

Everything here was written for the project: hand-written Korean phrase banks (invented film titles,
aspects, evaluations, daily-life / news / culture sentence parts) combined by a seeded generator.

Outputs (committed next to this script):
  reviews.tsv        ~3,000 NSMC-format movie reviews (train), balanced labels
  reviews_test.tsv   ~1,000 reviews (test), ids disjoint from train
  corpus/*.txt       ~6,000 general Korean sentences, one per line

Format of the review files: exactly the official NSMC one (`id<TAB>document<TAB>label`, header line; a document
containing `"` is CSV-quoted twice, like `ratings_train.txt`; a few empty documents).

    python demo_data/make_demo_data.py            # rewrite the files
    python demo_data/make_demo_data.py --check    # verify the committed files are up to date
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

SEED = 20240607
HERE = Path(__file__).resolve().parent
N_TRAIN, N_TEST = 3000, 1000
LABEL_NOISE = 0.04  # real reviews are noisy too: a few labels disagree with the text

# ---------------------------------------------------------------------------------- Korean helpers


def batchim(word: str) -> bool:
    """Does the last syllable end in a consonant (decides the particle form)?"""
    ch = word.rstrip().rstrip("\"'>)]」』")[-1]
    if "가" <= ch <= "힣":
        return (ord(ch) - 0xAC00) % 28 != 0
    return ch in "0136789LMNRlmnr"


def rieul(word: str) -> bool:
    ch = word.rstrip()[-1]
    return "가" <= ch <= "힣" and (ord(ch) - 0xAC00) % 28 == 8


def j(word: str, pair: str) -> str:
    """word + the right particle of `pair` ('이/가', '은/는', '을/를', '과/와', '으로/로', '이나/나', '이랑/랑')."""
    with_c, without = pair.split("/")
    if pair == "으로/로":
        return word + ("로" if not batchim(word) or rieul(word) else "으로")
    return word + (with_c if batchim(word) else without)


# -------------------------------------------------------------------------------- review phrase banks

TITLES = [
    "푸른 새벽", "마지막 편지", "바람의 기억", "서울의 밤", "잃어버린 여름", "달빛 정거장", "겨울 항구", "붉은 우산",
    "작은 영웅들", "그해 가을", "유리 정원", "검은 파도", "어느 날 갑자기", "별을 쫓는 아이", "낯선 이웃", "비밀의 방",
    "열두 번째 손님", "돌아온 탐정", "고양이 식당", "시간 도둑", "하늘 아래 첫 집", "무명 가수", "사라진 섬",
    "봄날의 약속", "철길 위의 소년", "안개 속으로", "두 개의 달", "마지막 승부", "우리들의 계절", "한밤의 추적",
    "오래된 사진관", "파란 자전거", "눈 내리는 마을", "침묵의 도시", "여름 방학", "도깨비 시장", "왕의 그림자",
    "기억 수집가", "빛나는 순간", "골목의 끝", "늦은 고백", "해변의 편지", "구름 위의 산책", "네 번째 계절",
]
GENRES = ["로맨스", "공포 영화", "스릴러", "코미디", "애니메이션", "다큐멘터리", "SF 영화", "사극", "가족 영화",
          "범죄 영화", "뮤지컬 영화", "액션 영화", "성장 영화", "재난 영화", "판타지 영화", "청춘 영화"]
REFS = ["이 영화", "이 작품", "영화", "이번 영화", "그 영화", "이 감독 영화", "이 시리즈", "속편", "원작 영화"]
ASPECTS = ["스토리", "줄거리", "연기", "배우들 연기", "주연 배우", "조연", "연출", "음악", "OST", "영상미", "결말",
           "대사", "캐릭터", "전개", "반전", "액션", "각본", "편집", "CG", "주인공", "분위기", "촬영", "미장센",
           "개연성", "후반부", "초반", "중반부", "엔딩", "아역 배우", "악역", "색감", "사운드", "긴장감", "유머",
           "감정선", "마무리", "설정", "세계관", "러닝타임", "몰입도"]
COMPANIONS = ["친구랑", "가족이랑", "남자친구랑", "여자친구랑", "아이들과", "혼자", "부모님과", "동생이랑",
              "회사 동료들과", "아내와", "남편이랑", "조카랑"]
PLACES_WATCH = ["극장에서", "집에서", "넷플릭스로", "TV에서", "비행기에서", "케이블에서", "시사회에서", "심야에"]

# adjectives: (root for "-지 않았다", past stem); forms derive from the past stem (다 / 어요 / 고 / 는데 / 음)
POS_ADJ = [("좋", "좋았"), ("재미있", "재미있었"), ("훌륭하", "훌륭했"), ("신선하", "신선했"), ("탄탄하", "탄탄했"),
           ("감동적이", "감동적이었"), ("인상적이", "인상적이었"), ("완벽하", "완벽했"), ("깔끔하", "깔끔했"),
           ("아름답", "아름다웠"), ("멋지", "멋졌"), ("따뜻하", "따뜻했"), ("유쾌하", "유쾌했"), ("섬세하", "섬세했"),
           ("자연스럽", "자연스러웠"), ("흥미진진하", "흥미진진했"), ("웃기", "웃겼"), ("짜릿하", "짜릿했"),
           ("풍성하", "풍성했"), ("알차", "알찼"), ("뭉클하", "뭉클했"), ("찰지", "찰졌"), ("세련되", "세련됐")]
NEG_ADJ = [("지루하", "지루했"), ("엉성하", "엉성했"), ("어색하", "어색했"), ("뻔하", "뻔했"), ("유치하", "유치했"),
           ("산만하", "산만했"), ("답답하", "답답했"), ("실망스럽", "실망스러웠"), ("억지스럽", "억지스러웠"),
           ("허술하", "허술했"), ("지겹", "지겨웠"), ("불편하", "불편했"), ("촌스럽", "촌스러웠"), ("나쁘", "나빴"),
           ("과하", "과했"), ("밋밋하", "밋밋했"), ("난해하", "난해했"), ("황당하", "황당했"), ("식상하", "식상했"),
           ("짜증나", "짜증났"), ("조잡하", "조잡했"), ("무성의하", "무성의했"), ("시끄럽", "시끄러웠")]
NOUN_POS = ["최고", "명작", "수작", "걸작", "인생 영화", "대박", "꿀잼", "감동 그 자체", "올해의 영화", "레전드"]
NOUN_NEG = ["최악", "졸작", "망작", "노잼", "시간 낭비", "돈 낭비", "실패작", "수면제", "재앙", "흑역사"]

POS_WHOLE = [
    "시간 가는 줄 몰랐다", "또 보고 싶은 영화", "강력 추천합니다", "두 번 봐도 재밌다", "눈물 콧물 다 뺐다",
    "보는 내내 웃었다", "엔딩 크레딧까지 자리를 못 떴다", "기대 이상이었다", "생각보다 훨씬 괜찮았다",
    "배우들 케미가 미쳤다", "여운이 오래 남는다", "가족끼리 보기 딱 좋다", "극장에서 꼭 봐야 할 영화",
    "돈이 하나도 안 아깝다", "감독님 다음 작품도 기대됩니다", "이런 영화가 더 많아졌으면", "마음이 따뜻해지는 영화",
    "평점이 낮은 게 이해가 안 된다", "소름 돋는 장면이 한두 개가 아니다", "오랜만에 제대로 된 영화를 봤다",
    "나만 알고 싶은 영화", "10점 만점에 10점", "별 다섯 개도 모자라다", "인생 영화 등극", "몇 번을 봐도 질리지 않는다",
    "음악만 들어도 그 장면이 떠오른다", "울다가 웃다가 했다", "아이들이 정말 좋아했어요", "주인공한테 완전히 빠졌다",
    "볼까 말까 고민했는데 보길 잘했다", "잔잔한데 묘하게 끌린다", "마지막 장면에서 박수 쳤다",
]
NEG_WHOLE = [
    "돈이 아깝다", "보다가 잠들었다", "두 번은 못 보겠다", "기대 이하였다", "생각보다 훨씬 별로였다",
    "중간에 나가고 싶었다", "평점 보고 속았다", "시간이 아깝다", "이걸 왜 만들었는지 모르겠다",
    "별 하나도 아깝다", "10점 만점에 1점", "개연성이라고는 찾아볼 수 없다", "배우가 아깝다", "광고에 속았다",
    "졸음을 참느라 힘들었다", "무슨 말을 하고 싶은 건지 모르겠다", "예고편이 전부였다", "보는 내내 한숨만 나왔다",
    "원작을 망쳐 놨다", "이런 영화에 투자한 사람이 궁금하다", "다시는 이 감독 영화 안 본다", "팝콘이 더 맛있었다",
    "끝나기만 기다렸다", "억지 감동에 질렸다", "리모컨을 몇 번이나 들었다 놨다", "내 두 시간 돌려줘",
    "평점 알바가 많은 듯", "차라리 잠이나 잘걸", "웃기려고 한 장면에서 아무도 안 웃었다", "결말 보고 허탈했다",
]
# "X지 않았다" flips polarity: a negated positive adjective is negative, a negated negative one positive
HEDGES = ["솔직히", "개인적으로", "생각보다", "그냥", "확실히", "의외로", "역시", "아무리 봐도", "진짜", "정말"]
INTENS = ["정말", "진짜", "너무", "완전", "엄청", "꽤", "상당히", "너무너무", "참", "매우", "레알", "살짝", "좀"]
POS_TAILS = ["", "", "", ".", ".", "!", "!!", "~", "ㅋㅋ", "ㅋㅋㅋㅋ", "ㅎㅎ", "^^", " 👍", " ❤", "ㅠㅠ", "...",
             " 강추", " 추천!", "!!!", " 최고"]
NEG_TAILS = ["", "", "", ".", ".", "...", "....", "ㅡㅡ", "-_-", "ㅠㅠ", "ㅜㅜ", " 😡", " 😭", "ㅋㅋ", "!", "?",
             " 비추", " 노잼", "ㅉㅉ", "ㅡㅡ;;"]
OPENERS = ["", "", "", "", "와 ", "아 ", "음 ", "헐 ", "하... ", "ㅋㅋ ", "어제 ", "오늘 ", "드디어 ", "주말에 "]
SCORES_POS = ["9점", "10점", "9.5점", "만점", "별 다섯 개"]
SCORES_NEG = ["1점", "2점", "0점", "3점", "별 한 개"]
QUOTES_POS = ["괜찮아, 다 잘될 거야", "우리는 다시 만날 거야", "지금이 제일 좋을 때야", "끝까지 가 보자",
              "넌 혼자가 아니야", "고마워, 정말로"]
QUOTES_NEG = ["이게 최선입니까", "그래서 뭐 어쩌라고", "도대체 왜", "이게 끝이야", "다음 편에 계속"]


def forms(past: str) -> dict[str, str]:
    polite = past + "어요"
    return {"plain": past + "다", "polite": polite, "and": past + "고", "but": past + "는데", "noun": past + "음"}


def sentence_end(rng: random.Random, past: str) -> str:
    style = rng.choices(["plain", "polite", "noun"], [5, 4, 2])[0]
    return forms(past)[style]


def clause(rng: random.Random, positive: bool) -> str:
    """One evaluative clause with the given polarity, drawn from several constructions."""
    adj_same = POS_ADJ if positive else NEG_ADJ
    adj_other = NEG_ADJ if positive else POS_ADJ
    aspect = rng.choice(ASPECTS)
    kind = rng.choices(["aspect", "negated", "noun", "whole", "ref", "score"], [34, 9, 12, 24, 14, 7])[0]
    if kind == "aspect":
        intens = rng.choice(INTENS) + " " if rng.random() < 0.6 else ""
        return f"{j(aspect, rng.choice(['이/가', '은/는']))} {intens}{sentence_end(rng, rng.choice(adj_same)[1])}"
    if kind == "negated":  # negation flips the adjective's polarity
        root = rng.choice(adj_other)[0]
        neg = rng.choice(["지 않았다", "지 않았어요", "진 않았다", "지는 않았음", "지 않더라"])
        return f"{j(aspect, rng.choice(['이/가', '은/는']))} {rng.choice(['전혀 ', '별로 ', '그렇게 ', ''])}{root}{neg}"
    if kind == "noun":
        noun = rng.choice(NOUN_POS if positive else NOUN_NEG)
        return rng.choice([f"{noun}", f"{rng.choice(REFS)} {noun}", f"{noun}입니다", f"진짜 {noun}",
                           j(noun, "이다/다")])
    if kind == "whole":
        return rng.choice(POS_WHOLE if positive else NEG_WHOLE)
    if kind == "ref":
        return f"{j(rng.choice(REFS), '은/는')} {rng.choice(INTENS)} {sentence_end(rng, rng.choice(adj_same)[1])}"
    return f"{rng.choice(SCORES_POS if positive else SCORES_NEG)}{rng.choice(['', ' 줍니다', ' 준다', ' 드림', '도 아깝다' if not positive else ' 드려요'])}"


def review(rng: random.Random, positive: bool) -> str:
    """A whole review: 1-3 clauses; mixed reviews put the verdict last; some mention titles or quotes."""
    shape = rng.choices(["one", "two", "mixed", "context", "quote", "title"], [31, 23, 19, 17, 2, 8])[0]
    tail = rng.choice(POS_TAILS if positive else NEG_TAILS)
    if shape == "one":
        text = rng.choice(OPENERS) + clause(rng, positive)
    elif shape == "two":
        first = clause(rng, positive)
        second = clause(rng, positive)
        text = f"{first}. {second}" if rng.random() < 0.6 else f"{first} {second}"
    elif shape == "mixed":  # concession then verdict: the first half has the opposite polarity
        a1, a2 = rng.sample(ASPECTS, 2)
        other = rng.choice(NEG_ADJ if positive else POS_ADJ)[1]
        same = rng.choice(POS_ADJ if positive else NEG_ADJ)[1]
        link = rng.choice(["but", "but", "and"])
        if link == "but":
            text = f"{j(a1, '은/는')} {forms(other)['but']} {j(a2, '이/가')} {rng.choice(INTENS)} {sentence_end(rng, same)}"
        else:
            text = f"{j(a1, '은/는')} 좀 {forms(other)['and']}... 그래도 {clause(rng, positive)}"
    elif shape == "context":
        who = rng.choice(COMPANIONS)
        where = rng.choice(PLACES_WATCH)
        genre = rng.choice(GENRES)
        lead = rng.choice([f"{who} {where} 봤는데", f"{genre} 좋아해서 봤는데", f"{who} 봤어요.",
                           f"{where} 보고 왔는데", "기대 없이 봤는데", f"{genre}{'인 줄 알았는데' if positive else ' 치고는'}"])
        text = f"{lead} {clause(rng, positive)}"
    elif shape == "quote":  # a quoted line of dialogue: these documents get NSMC's double CSV quoting
        q = rng.choice(QUOTES_POS if positive else QUOTES_NEG)
        text = rng.choice([f'"{q}" 이 대사 하나로 {"충분했다" if positive else "다 설명된다"}',
                           f'"{q}" {clause(rng, positive)}', f'"{q}"'])
    else:  # title mention, sometimes quoted
        title = rng.choice(TITLES)
        shown = f'"{title}"' if rng.random() < 0.1 else f"<{title}>" if rng.random() < 0.3 else title
        text = f"{j(shown, '은/는')} {clause(rng, positive).replace('이 영화는 ', '').replace('이 작품은 ', '')}" if rng.random() < 0.5 else \
            f"{shown} 보고 왔는데 {clause(rng, positive)}"
    text = text.strip()
    if tail and not text.endswith((".", "!", "?", "~")):
        text += tail
    if rng.random() < 0.05:  # casual typing: no spaces, like many short reviews
        text = text.replace(" ", "")
    return text


def nsmc_field(document: str) -> str:
    """How the official NSMC files store a document: CSV-quoted twice when it contains a double quote."""
    for _ in range(2):
        if '"' in document or "\t" in document or "\n" in document:
            document = '"' + document.replace('"', '""') + '"'
    return document


def make_reviews(rng: random.Random, n: int, used_ids: set[int], seen: set[str]) -> list[tuple[str, str, int]]:
    rows: list[tuple[str, str, int]] = []
    n_pos = 0
    while len(rows) < n - 2:
        positive = len(rows) % 2 == 0
        text = review(rng, positive)
        if text in seen:
            continue
        seen.add(text)
        label = int(positive)
        if rng.random() < LABEL_NOISE:
            label = 1 - label
        rows.append(("", text, label))
        n_pos += label
    rows += [("", "", 0), ("", "", 1)]  # NSMC has a few empty documents: keep them, with a label
    rng.shuffle(rows)
    out = []
    for _, text, label in rows:
        while True:
            rid = rng.randrange(1_000_000, 10_000_000)
            if rid not in used_ids:
                used_ids.add(rid)
                break
        out.append((str(rid), text, label))
    return out


# --------------------------------------------------------------------------------- corpus phrase banks

PEOPLE = ["민수", "지영", "서연", "준호", "하은", "도윤", "수빈", "예린", "현우", "지훈", "유나", "태민", "소희", "은지",
          "우리 할머니", "옆집 아저씨", "담임 선생님", "회사 선배", "동생", "친구", "사장님", "이웃"]
TIMES = ["아침에", "점심에", "저녁에", "새벽에", "주말에", "퇴근 후에", "어제", "오늘", "지난주에", "방학 동안",
         "휴가 때", "비 오는 날에", "명절에", "출근길에", "밤늦게", "오후에"]
PLACES = ["공원", "도서관", "카페", "시장", "바닷가", "산", "학교", "회사", "병원", "편의점", "지하철역", "공항",
          "박물관", "미술관", "식당", "체육관", "놀이터", "한강", "동네 서점", "캠핑장", "기차역", "백화점"]
ACTIVITIES = ["산책을 했다", "커피를 마셨다", "책을 읽었다", "친구를 만났다", "장을 봤다", "사진을 찍었다",
              "자전거를 탔다", "운동을 했다", "점심을 먹었다", "숙제를 했다", "음악을 들었다", "그림을 그렸다",
              "일기를 썼다", "전시를 구경했다", "줄을 섰다", "길을 잃었다", "쉬었다", "노래를 불렀다",
              "김밥을 샀다", "우산을 빌렸다", "영화를 봤다", "낮잠을 잤다", "빨래를 했다", "화분에 물을 줬다"]
FOODS = ["김치찌개", "된장찌개", "비빔밥", "떡볶이", "냉면", "삼겹살", "칼국수", "김밥", "불고기", "순두부",
         "잡채", "만두", "파전", "호떡", "붕어빵", "팥빙수", "치킨", "라면", "갈비탕", "미역국", "삼계탕", "어묵"]
FOOD_EVAL = ["맛있었다", "짰다", "매웠다", "싱거웠다", "달았다", "따뜻했다", "양이 많았다", "금방 식었다",
             "고소했다", "담백했다", "비쌌다", "저렴했다", "줄 서서 먹을 만했다"]
CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "제주", "강릉", "전주", "경주", "춘천", "여수",
          "수원", "포항", "목포", "안동", "속초"]
ORGS = ["정부", "시청", "교육청", "기상청", "한국은행", "국회", "보건당국", "소방청", "영화진흥위원회", "문화재청",
        "통계청", "구청", "경찰", "관광공사", "도서관협회"]
NEWS_TOPICS = ["청년 일자리", "대중교통 요금", "전기 요금", "미세먼지 대책", "출산 지원", "주택 공급", "관광 활성화",
               "지역 축제", "디지털 교육", "독립 영화 지원", "도서관 운영 시간", "노인 돌봄", "재활용 정책",
               "공공 와이파이", "자전거 도로", "소상공인 지원", "폭염 대비", "안전 점검", "문화 바우처",
               "외국인 관광객 유치"]
NEWS_ACTIONS = ["에 대한 계획을 발표했다", "을 확대하기로 했다", "에 관한 의견을 듣기로 했다", "을 다시 검토하기로 했다",
                "에 예산을 추가로 배정했다", "을 다음 달부터 시행한다", "에 대한 조사 결과를 공개했다",
                "과 관련한 설명회를 열었다"]
WEATHER = ["맑겠다", "흐리겠다", "비가 내리겠다", "눈이 오겠다", "바람이 강하게 불겠다", "안개가 끼겠다",
           "구름이 많겠다", "소나기가 오겠다", "기온이 크게 떨어지겠다", "낮 기온이 크게 오르겠다"]
SEASONS = ["봄", "여름", "가을", "겨울", "장마철", "초여름", "늦가을", "한겨울"]
TECH = ["스마트폰", "노트북", "인공지능", "번역기", "전기차", "무선 이어폰", "태블릿", "검색 엔진", "음성 비서",
        "로봇 청소기", "스마트워치", "클라우드 서비스", "자율주행차", "앱", "메신저"]
TECH_EVAL = ["점점 가벼워지고 있다", "배터리가 오래간다", "사용법이 간단하다", "업데이트가 잦다", "가격이 많이 내렸다",
             "한국어를 잘 알아듣는다", "개인정보 보호가 중요하다", "학생들 사이에서 인기가 많다",
             "고장이 나면 수리비가 비싸다", "생활을 편리하게 바꿨다"]
SPORTS = ["야구", "축구", "농구", "배구", "탁구", "마라톤", "수영", "태권도", "양궁", "배드민턴", "씨름", "골프"]
SPORT_EVENTS = ["경기에서 역전승을 거뒀다", "결승에 진출했다", "연장 끝에 비겼다", "새 기록을 세웠다",
                "첫 승을 올렸다", "아쉽게 졌다", "관중이 가득 찼다", "부상 선수가 복귀했다"]
TEAMS = ["우리 학교 팀", "대표팀", "홈 팀", "신생 팀", "지역 팀", "청소년 대표팀", "여자 대표팀", "동네 동호회"]
FILM_FACTS = [
    "{title}{은} {year}년에 개봉한 {genre}{이다}.", "{title}{은} {city}에서 대부분 촬영되었다.",
    "{title}의 감독은 이번이 세 번째 장편 영화다.", "{title}{은} 개봉 첫 주에 관객 {n}만 명을 모았다.",
    "{title}{은} 같은 이름의 소설을 원작으로 한다.", "{title}의 음악은 피아노 선율이 중심이다.",
    "{title}{은} 한 가족의 이야기를 {season}을 배경으로 그린다.", "{title}에 출연한 신인 배우가 주목받고 있다.",
    "{city}영화제에서 {title}{이} 처음 공개되었다.", "{title}의 감독판이 다음 달 다시 개봉한다.",
    "{title}{은} 상영 시간이 {minutes}분이다.", "{genre}{은} 요즘 관객들에게 꾸준히 사랑받고 있다.",
    "{year}년에는 {genre}{이} 유난히 많이 개봉했다.", "{title}의 예고편이 공개되자 반응이 뜨거웠다.",
    "평론가들은 {title}의 연출을 두고 의견이 갈렸다.", "{title}{은} 청소년 관람 불가 등급을 받았다.",
]
DAILY = [
    "{person}{은} {time} {place}에서 {activity}.", "{time} {place}에 갔다가 {person}{을} 만났다.",
    "{time} {food}{을} 먹었는데 {food_eval}.", "{person}{이} 만든 {food}{은} 늘 {food_eval}.",
    "{place} 앞에 새로 생긴 가게에서 {food}{을} 팔기 시작했다.", "{season}에는 {place}에 사람이 많다.",
    "{person}{은} {season}마다 {city}에 여행을 간다.", "{time} 버스를 놓쳐서 {place}까지 걸어갔다.",
    "{person}{이} 빌려준 책을 {time} 다 읽었다.", "{city} 여행에서 먹은 {food}{이} 아직도 생각난다.",
    "{person}{과} 함께 {place}에서 {activity}.", "{time} 비가 와서 {place}에 사람이 별로 없었다.",
    "요즘 {person}{은} 매일 {place}에 간다.", "{person}{은} {food}{을} 제일 좋아한다.",
    "오랜만에 {place}에 가니 기분이 좋았다.", "{time} {place}에서 우연히 옛 친구를 봤다.",
]
NEWS = [
    "{org}{은} {topic}{news_action}", "{city}의 {topic} 정책이 다른 지역에서도 관심을 받고 있다.",
    "{date} {city}{은} {weather}.", "기상청은 {date} 전국이 {weather}고 밝혔다.",
    "{city}에서 열린 {topic} 토론회에 시민 {n}0여 명이 참석했다.", "{org}{은} {city} 지역의 {topic} 현황을 조사했다.",
    "{season}을 앞두고 {city}의 관광객이 늘고 있다.", "{city} 시내 {place} 주변 도로가 {date} 통제된다.",
    "{team}{이} {sport} {sport_event}.", "{sport} 대회가 {city}에서 {date} 열린다.",
    "{tech}{은} {tech_eval}.", "전문가들은 {tech} 시장이 계속 커질 것으로 내다봤다.",
    "{city}의 한 {place}에서 {tech}{을} 활용한 서비스를 시작했다.", "올해 {city}의 {season} 평균 기온은 예년보다 높았다.",
]
DATES = ["내일", "모레", "이번 주말", "다음 주", "오늘 오후", "오는 금요일", "다음 달 초", "이번 연휴"]
PROVERBS = [
    "천 리 길도 한 걸음부터.", "가는 말이 고와야 오는 말이 곱다.", "낮말은 새가 듣고 밤말은 쥐가 듣는다.",
    "세 살 버릇 여든까지 간다.", "백지장도 맞들면 낫다.", "티끌 모아 태산.", "시작이 반이다.",
    "웃는 얼굴에 침 못 뱉는다.", "소 잃고 외양간 고친다.", "말 한마디로 천 냥 빚을 갚는다.",
    "한국어는 교착어라서 조사와 어미가 발달했다.", "한글은 세종대왕이 만든 문자다.",
    "서울은 대한민국의 수도다.", "제주도는 한국에서 가장 큰 섬이다.", "추석에는 송편을 빚는다.",
    "설날에는 떡국을 먹고 세배를 한다.", "한강은 서울을 가로질러 흐른다.", "김치는 발효 음식이다.",
    "봄에는 벚꽃 구경을 가는 사람이 많다.", "여름에는 장마가 길게 이어지기도 한다.",
    "가을 하늘은 높고 맑다.", "겨울에는 붕어빵 파는 가게가 늘어난다.",
    "한국 영화는 해외 영화제에서도 자주 상을 받는다.", "극장에서는 휴대전화를 꺼 두는 것이 예의다.",
    "영화를 보기 전에 예고편을 챙겨 보는 사람도 많다.", "자막 없이 외국 영화를 보려면 연습이 필요하다.",
    "독립 영화는 작은 극장에서 주로 상영된다.", "좋은 영화는 시간이 지나도 다시 보게 된다.",
]

HOBBIES = ["등산", "뜨개질", "요리", "사진", "독서", "캘리그래피", "피아노", "기타 연주", "수영", "달리기", "낚시",
           "보드게임", "클라이밍", "베이킹", "정원 가꾸기", "필라테스", "요가", "외국어 공부", "글쓰기", "도자기 만들기",
           "목공", "자수", "서예", "바둑", "스케이트보드", "합창"]
FESTIVALS = ["불꽃 축제", "벚꽃 축제", "음식 축제", "재즈 페스티벌", "독립영화제", "빛 축제", "전통시장 축제",
             "머드 축제", "눈꽃 축제", "국제 영화제", "도서 박람회", "연등 행사", "탈춤 공연", "김장 나눔 행사"]
ARTISTS = ["신인 가수", "인디 밴드", "피아니스트", "작곡가", "화가", "사진작가", "시인", "소설가", "무용가",
           "만화가", "국악인", "성악가"]
SUBJECTS = ["수학", "영어", "국어", "과학", "역사", "음악", "미술", "체육", "경제", "물리", "화학", "생물", "지리",
            "윤리", "정보"]
MEALS = ["아침", "점심", "저녁", "간식", "야식"]
DEPTS = ["마케팅 팀", "개발 팀", "영업부", "인사팀", "디자인 팀", "고객 지원 팀", "연구소", "기획실", "총무과"]
NATURE = ["산", "들판", "강물", "나뭇잎", "하늘", "바다", "꽃밭", "호수", "숲", "논", "갈대밭", "은행나무"]
NATURE_CHANGE = ["붉게 물든다", "푸르게 빛난다", "하얗게 덮인다", "잔잔해진다", "노랗게 변한다", "활짝 핀다",
                 "꽁꽁 언다", "안개에 잠긴다", "금빛으로 반짝인다", "연둣빛으로 바뀐다"]
ANIMALS = ["고양이", "강아지", "참새", "까치", "다람쥐", "토끼", "거북이", "금붕어", "비둘기", "오리", "고라니",
           "청설모", "두루미", "너구리"]
ANIMAL_ACTS = ["낮잠을 자고 있었다", "먹이를 찾고 있었다", "사람들을 따라다녔다", "햇볕을 쬐고 있었다",
               "나무 위로 올라갔다", "물을 마시고 있었다", "울타리를 넘어갔다", "조용히 앉아 있었다"]
REASONS = ["시험에 합격해서", "비가 그쳐서", "친구가 이사를 가서", "오랜만에 가족을 만나서", "지갑을 잃어버려서",
           "늦잠을 자서", "선물을 받아서", "약속이 취소돼서", "좋아하는 노래가 나와서", "첫눈이 와서",
           "월급이 들어와서", "발표를 망쳐서", "칭찬을 들어서", "휴대전화를 떨어뜨려서", "택배가 일찍 와서"]
FEELINGS = ["기뻤다", "슬펐다", "설렜다", "속상했다", "아쉬웠다", "행복했다", "당황했다", "뿌듯했다", "외로웠다",
            "신이 났다", "허전했다", "마음이 놓였다", "화가 났다", "부끄러웠다"]
ITEMS = ["배추", "사과", "달걀", "우유", "휘발유", "쌀", "고등어", "커피 원두", "라면", "운동화", "겨울 외투",
         "양파", "대파", "돼지고기", "밀가루", "설탕", "식용유", "귤"]
UP_DOWN = ["올랐다", "내렸다", "뛰었다", "떨어졌다", "소폭 상승했다", "크게 하락했다"]
STORES = ["전통 시장", "대형 마트", "동네 슈퍼", "온라인 쇼핑몰", "편의점", "백화점", "중고 장터", "농산물 직판장"]
SYMPTOMS = ["감기", "두통", "허리 통증", "치통", "눈병", "배탈", "알레르기", "불면증", "몸살", "비염"]
VEHICLES = ["기차", "고속버스", "비행기", "여객선", "KTX", "시외버스", "첫차", "막차"]
LIFE = [
    "{person}{은} 요즘 {hobby}에 푹 빠져 있다.", "{hobby}{을} 시작한 지 벌써 {n}개월이 되었다.",
    "이번 주말에는 {city}에서 {festival}{이} 열린다.", "{artist}의 새 작품이 {date} 공개된다.",
    "{person}{은} {subject} 시험 준비 때문에 바쁘다.", "회의가 길어져서 {meal}{을} 못 먹었다.",
    "{person}{은} {dept}에서 새로운 프로젝트를 맡게 되었다.", "{subject} 수업 시간에 발표를 했다.",
    "{season}이 되면 {nature}{이} {nature_change}.", "{place} 근처에서 {animal} 한 마리가 {animal_act}.",
    "{person}{은} {reason} {feeling}.", "{item} 가격이 지난달보다 {n}% {up_down}.",
    "{person}{은} {store}에서 {item}{을} 샀다.", "{person}{은} {symptom} 때문에 병원에 갔다.",
    "{city}행 {vehicle}{이} {n}분 늦게 출발했다.", "{reason} 하루 종일 {feeling}.",
    "{hobby} 동호회에서 {person}{을} 처음 만났다.", "{city}의 {festival}에는 해마다 사람이 몰린다.",
    "{animal}{은} {season}에 특히 자주 눈에 띈다.", "{store}에서는 요즘 {item}{이} 더 싸다.",
    "{subject} 선생님은 숙제를 많이 내 주신다.", "{time} {vehicle}{을} 타고 {city}에 다녀왔다.",
]
HAND_WRITTEN = [
    "물은 섭씨 백 도에서 끓는다.", "지구는 태양 주위를 일 년에 한 바퀴 돈다.", "달은 스스로 빛을 내지 못한다.",
    "규칙적인 운동은 건강에 도움이 된다.", "잠을 충분히 자야 집중력이 좋아진다.", "식사 후에는 가볍게 걷는 것이 좋다.",
    "도서관에서는 조용히 해야 한다.", "버스에서는 노약자에게 자리를 양보하자.", "분리수거를 하면 자원을 아낄 수 있다.",
    "손을 자주 씻으면 감기를 예방할 수 있다.", "어른께 물건을 드릴 때는 두 손으로 드린다.",
    "조선은 오백 년 넘게 이어진 왕조였다.", "훈민정음은 백성을 가르치는 바른 소리라는 뜻이다.",
    "한옥은 여름에는 시원하고 겨울에는 따뜻하다.", "온돌은 바닥을 데우는 한국의 전통 난방 방식이다.",
    "판소리는 한 명의 소리꾼과 고수가 함께 공연한다.", "태권도는 세계 여러 나라에서 배우는 무술이다.",
    "비빔밥에는 여러 가지 나물이 들어간다.", "된장과 간장은 콩으로 만든다.", "김장은 겨울을 나기 위한 준비다.",
    "지하철은 출퇴근 시간에 몹시 붐빈다.", "택시를 탈 때는 안전띠를 매야 한다.", "횡단보도에서는 좌우를 잘 살피자.",
    "컴퓨터를 오래 쓰면 눈이 쉽게 피로해진다.", "비밀번호는 주기적으로 바꾸는 것이 안전하다.",
    "인공지능은 많은 데이터를 보고 규칙을 배운다.", "언어 모델은 문장 속 빈칸에 들어갈 말을 맞히며 배운다.",
    "작은 모델도 큰 모델에게 배우면 제법 똑똑해진다.", "지식 증류는 큰 모델의 지식을 작은 모델에 옮기는 방법이다.",
    "형태소는 뜻을 가진 가장 작은 말의 단위다.", "띄어쓰기를 잘못하면 뜻이 달라지기도 한다.",
    "존댓말과 반말은 상황에 맞게 써야 한다.", "외래어 표기법은 국립국어원에서 정한다.",
    "우리 동네에는 오래된 빵집이 하나 있다.", "할머니 댁 마당에는 감나무가 서 있다.",
    "창문을 열자 시원한 바람이 들어왔다.", "아이들이 운동장에서 공을 차며 놀고 있다.",
    "엘리베이터가 고장 나서 계단으로 올라갔다.", "냉장고에 남은 재료로 볶음밥을 만들었다.",
    "오랜만에 방 청소를 했더니 마음까지 개운하다.", "퇴근길 하늘이 유난히 붉었다.",
    "편지를 쓰다 보니 옛날 생각이 났다.", "새로 산 신발이 조금 작아서 발이 아프다.",
    "동생은 요즘 공룡 그림책을 제일 좋아한다.", "비가 그친 뒤 무지개가 떴다.",
    "시험이 끝나면 친구들과 바다에 가기로 했다.", "밤새 내린 눈 때문에 길이 미끄럽다.",
    "이사 온 집은 햇볕이 잘 들어서 좋다.", "주말 농장에서 상추와 고추를 키운다.",
    "영화관 팝콘은 왜 이렇게 맛있을까.", "영화가 끝나고도 한동안 자리에서 일어나지 못했다.",
    "감독은 인터뷰에서 배우들에게 고마움을 전했다.", "이 배우는 데뷔 십 년 만에 첫 주연을 맡았다.",
    "흑백 영화에는 색이 없어도 분위기가 살아 있다.", "무성 영화 시절에는 변사가 이야기를 들려줬다.",
    "관객 수가 천만 명을 넘는 영화는 흔하지 않다.", "영화 음악만 모은 음반도 꾸준히 팔린다.",
    "원작 소설과 영화의 결말이 다른 경우도 많다.", "짧은 영화 한 편이 긴 여운을 남기기도 한다.",
]


def fill(template: str, rng: random.Random) -> str:
    values = {
        "title": rng.choice(TITLES), "genre": rng.choice(GENRES), "city": rng.choice(CITIES),
        "person": rng.choice(PEOPLE), "time": rng.choice(TIMES), "place": rng.choice(PLACES),
        "activity": rng.choice(ACTIVITIES), "food": rng.choice(FOODS), "food_eval": rng.choice(FOOD_EVAL),
        "season": rng.choice(SEASONS), "org": rng.choice(ORGS), "topic": rng.choice(NEWS_TOPICS),
        "news_action": rng.choice(NEWS_ACTIONS), "weather": rng.choice(WEATHER), "date": rng.choice(DATES),
        "team": rng.choice(TEAMS), "sport": rng.choice(SPORTS), "sport_event": rng.choice(SPORT_EVENTS),
        "tech": rng.choice(TECH), "tech_eval": rng.choice(TECH_EVAL), "year": str(rng.randrange(1995, 2025)),
        "n": str(rng.randrange(2, 90)), "minutes": str(rng.randrange(85, 170)),
        "hobby": rng.choice(HOBBIES), "festival": rng.choice(FESTIVALS), "artist": rng.choice(ARTISTS),
        "subject": rng.choice(SUBJECTS), "meal": rng.choice(MEALS), "dept": rng.choice(DEPTS),
        "nature": rng.choice(NATURE), "nature_change": rng.choice(NATURE_CHANGE), "animal": rng.choice(ANIMALS),
        "animal_act": rng.choice(ANIMAL_ACTS), "reason": rng.choice(REASONS), "feeling": rng.choice(FEELINGS),
        "item": rng.choice(ITEMS), "up_down": rng.choice(UP_DOWN), "symptom": rng.choice(SYMPTOMS),
        "vehicle": rng.choice(VEHICLES), "store": rng.choice(STORES),
    }
    out = template
    # particles follow the word they attach to: "{title}{은}" -> "푸른 새벽은"
    for key, value in values.items():
        for part, pair in (("{은}", "은/는"), ("{이}", "이/가"), ("{을}", "을/를"), ("{과}", "과/와"),
                           ("{이다}", "이다/다")):
            out = out.replace("{" + key + "}" + part, j(value, pair))
        out = out.replace("{" + key + "}", value)
    # a news action starting with a particle: fix 을/과 against the preceding word
    for wrong, pair in (("을 ", "을/를"), ("과 ", "과/와")):
        idx = out.find(values["topic"] + wrong)
        if idx >= 0:
            out = out.replace(values["topic"] + wrong, j(values["topic"], pair) + " ", 1)
    if "{" in out or "}" in out:
        raise ValueError(f"unfilled placeholder in template {template!r}: {out!r}")
    return out


def make_corpus(rng: random.Random, seen_reviews: set[str]) -> dict[str, list[str]]:
    targets = {"film.txt": (FILM_FACTS, 1200), "daily.txt": (DAILY, 1400), "news.txt": (NEWS, 1300),
               "life.txt": (LIFE, 1600)}
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for name, (templates, n) in targets.items():
        lines: list[str] = []
        attempts = 0
        while len(lines) < n and attempts < n * 50:
            attempts += 1
            s = fill(rng.choice(templates), rng)
            if rng.random() < 0.25:  # two sentences on one line, like paragraphs in real text
                s += " " + fill(rng.choice(templates), rng)
            if s not in seen:
                seen.add(s)
                lines.append(s)
        out[name] = lines
    reviews: list[str] = []
    while len(reviews) < 1800:  # review-style text (not the labelled reviews) so the vocab covers them
        s = review(rng, rng.random() < 0.5)
        if s not in seen and s not in seen_reviews:
            seen.add(s)
            reviews.append(s)
    out["reviews_style.txt"] = reviews
    out["general.txt"] = list(PROVERBS) + list(HAND_WRITTEN)
    return out


# ------------------------------------------------------------------------------------------ main


def build() -> dict[str, str]:
    """Path (relative to demo_data/) -> file content."""
    rng = random.Random(SEED)
    used_ids: set[int] = set()
    seen: set[str] = set()
    files: dict[str, str] = {}
    for name, n in (("reviews.tsv", N_TRAIN), ("reviews_test.tsv", N_TEST)):
        rows = make_reviews(rng, n, used_ids, seen)
        files[name] = "id\tdocument\tlabel\n" + "".join(f"{i}\t{nsmc_field(d)}\t{lab}\n" for i, d, lab in rows)
    for name, lines in make_corpus(rng, seen).items():
        files[f"corpus/{name}"] = "\n".join(lines) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only verify that the committed files are up to date")
    parser.add_argument("--output_dir", type=Path, default=HERE, help="where to write (default: demo_data/)")
    args = parser.parse_args(argv)
    files = build()
    stale = []
    for rel, content in files.items():
        path = args.output_dir / rel
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if args.check:
        if stale:
            print("out of date: " + ", ".join(stale) + " (run python demo_data/make_demo_data.py)", file=sys.stderr)
            return 1
        print(f"{len(files)} demo files up to date")
        return 0
    total = sum(len(c.encode("utf-8")) for c in files.values())
    for rel, content in files.items():
        print(f"{rel}: {content.count(chr(10))} lines, {len(content.encode('utf-8')) / 1024:.0f} KiB")
    print(f"total {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
