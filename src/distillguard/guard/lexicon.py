# ruff: noqa: E501
"""Multilingual concept lexicons for the input guard.

Why a lexicon and not only learned n-grams: the guard is judged on attack wordings
written by other people, in many languages. What every trace-coercion prompt shares is
a *target* (the model's own reasoning / chain of thought / inner monologue), usually a
*hiddenness* qualifier (internal, raw, verbatim, before you answered) and an *operation*
(repeat, continue, translate, encode, summarise...). Those concepts have a small number
of names per language, so we list them (English, Chinese, Spanish, French, German,
Russian, Japanese, Arabic, Portuguese, Italian, Korean, Turkish, Polish, Dutch,
Vietnamese, Indonesian, Hindi; `lexicon_more` adds Greek, Hebrew, Thai, Czech/Slovak,
Ukrainian, Swahili, Bengali, Urdu, Tamil, Persian, Romanian, Hungarian, Finnish,
Scandinavian, Malay, Tagalog and indirect English) and let the classifier learn how they combine. Patterns
are matched on NFKC-casefolded text; Latin-script entries are word-prefix anchored.

Categories:
  tgt_strong  names of a reasoning trace ("chain of thought", "scratchpad", 思维链)
  tgt_weak    reasoning/thinking words that are also ordinary ("reasoning", "thoughts")
  hidden      qualifiers that point at the unseen/raw trace ("internal", "verbatim")
  extract     operations that move the trace into the answer (repeat, print, continue)
  transform   operations that disguise it (translate, encode, summarise, paraphrase)
  encoding    encodings and ciphers (base64, rot13, reversed, hex, caesar)
  authority   claimed authority or special modes (developer, admin, debug mode)
  transcript  references to earlier turns or fake transcripts
  wrapping    tags, code blocks, JSON fields to put the trace in
  dataset     dataset / training-data / distillation pretexts
  explain     ordinary requests for an explanation (a negative cue)
  topic       talking *about* chain of thought as a research topic (a negative cue)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from re import _constants as _C  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any, TypeAlias

from distillguard.guard.lexicon_more import MORE

_LATIN_PREFIX = r"(?<![a-z0-9à-öø-ÿа-яё])"

# Each entry: a regex fragment (already casefolded). Latin/Cyrillic words get a leading
# word boundary so "thought" does not fire inside "afterthoughts" only where that matters.
LEXICON: dict[str, list[str]] = {
    "tgt_strong": [
        # en
        r"chains? of thoughts?",
        r"\bcot\b",
        r"reasoning (?:trace|chain|tokens?|steps?|process|log|path)",
        r"thought (?:process|trace|chain|tokens?|stream|log)",
        r"thinking (?:process|trace|tokens?|steps?|block|log|section|phase)",
        r"train of thought",
        r"stream of (?:thought|consciousness)",
        r"(?:inner|internal|private|hidden) (?:monolog|dialog|voice|narrat|deliberat|scratch|notes?|thoughts?|thinking|reasoning|reflection|process|chatter|workings)",
        r"scratch ?pad",
        r"scratch ?work",
        r"<\s*/?\s*(?:think|thinking|reasoning|thought|scratchpad)\b",
        r"reasoning_content",
        r"thought tokens?",
        r"what (?:went|was going) (?:on )?(?:through|in) your (?:head|mind)",
        r"(?:assistant|ai|model|bot|asistente|assistente|assistent|ассистент|модель)\s*\((?:thinking|thoughts?|reasoning|internal|scratchpad|cot|pensando|razonando|pensamiento|r[ée]flexion|pens[ée]e|denkt|gedanken|размышля\w*|думает|мысли)\)",
        r"\(\s*(?:thinking|thoughts?|reasoning|internal|思考|推理|思考中|考え中|размышляет|думает|denkt|pensando|r[ée]flexion|يفكر|생각|생각 중)\s*\)",
        "思考部分",
        "思考の部分",
        "推理部分",
        "思考パート",
        r"thinking (?:part|portion|bit)",
        r"how you (?:really|actually|internally|truly) (?:got|arrived|reached|came|decided|worked)",
        r"internally (?:arriv|reach|decid|work|conclud)",
        r"(?:real|actual|true|genuine|honest) (?:deliberation|reasoning|thought|thinking)",
        r"reasoning (?:block|phase|part|channel|section|summary|field|stage|mode|output)",
        r"thinking (?:channel|mode|output|stage|field|budget)",
        r"(?:start|end|beginning)[- ]of[- ](?:thought|thinking|reasoning)",
        r"pre-?(?:answer|response|reply) (?:reasoning|thinking|thoughts?|analysis|notes?|steps?)",
        r"(?:tokens?|text|words?|notes?|steps?) you (?:generated|produced|wrote|made|considered|thought) (?:before|prior|while|privately|silently|internally|in private)",
        r"what you (?:were |had been )?(?:thinking|considering|pondering|mulling|weighing|working out|deliberating)",
        r"what (?:you|u) (?:thought|considered|pondered|weighed|worked out)",
        r"(?:everything|all|whatever|anything) (?:that )?(?:you|u) (?:thought|considered|pondered|mulled|deliberated|worked out|reasoned)",
        r"notes? (?:you made |you wrote )?to yourself",
        r"behind[- ]the[- ]scenes (?:reasoning|thinking|analysis|work|thoughts?|notes?)",
        r"in your head",
        "你心里想",
        "脑子里",
        "心里想的",
        "你想的",
        "推演过程",
        "你刚才想",
        "头脑中",
        r"lo que (?:pensaste|pensabas|razonaste|consideraste)",
        r"ce que (?:tu as|vous avez) (?:pens[ée]|r[ée]fl[ée]chi|raisonn[ée])",
        r"was du (?:dir )?(?:gedacht|überlegt)",
        r"(?:то,? )?(?:что|о ч[её]м) ты (?:думал|размышлял|прокручивал)",
        r"в голове",
        "頭の中",
        "考えていたこと",
        "考えたこと",
        "ما فكرت",
        "ما كنت تفكر",
        "속으로 생각",
        "머릿속",
        r"o que (?:voc[êe] )?pensou",
        r"ci[òo] che hai pensato",
        r"i[çc]inden ge[çc]irdi",
        r"ne d[üu][şs][üu]nd[üu]",
        r"co my[śs]la[łl]e[śs]",
        r"wat je dacht",
        r"(?:what|everything) you (?:were|are) thinking",
        r"your (?:mind|brain|head) (?:before|while|during)",
        # zh
        "思维链",
        "思考链",
        "思路链",
        "思考过程",
        "推理过程",
        "推理链",
        "推理轨迹",
        "推理步骤",
        "内部推理",
        "内心独白",
        "思考内容",
        "推理内容",
        "草稿",
        "隐藏推理",
        "内在推理",
        "心路历程",
        "思维过程",
        "思考記錄",
        "思考记录",
        # es / pt / it
        r"cadena de (?:pensamiento|razonamiento)",
        r"proceso (?:de|del) (?:pensamiento|razonamiento)",
        r"razonamiento (?:interno|oculto|privado|crudo|completo)",
        r"mon[oó]logo interno",
        r"pensamientos? (?:internos?|ocultos?|privados?)",
        r"cadeia de (?:pensamento|racioc[ií]nio)",
        r"processo de (?:pensamento|racioc[ií]nio)",
        r"racioc[ií]nio (?:interno|oculto|privado|bruto)",
        r"catena di (?:pensiero|ragionamento)",
        r"processo di (?:pensiero|ragionamento)",
        r"ragionamento (?:interno|nascosto|privato)",
        r"monologo interiore",
        # fr
        r"cha[iî]ne de (?:pens[ée]e|raisonnement)",
        r"processus de (?:r[ée]flexion|raisonnement|pens[ée]e)",
        r"raisonnement (?:interne|cach[ée]|priv[ée]|brut)",
        r"monologue int[ée]rieur",
        r"pens[ée]es? (?:internes?|cach[ée]es?|priv[ée]es?)",
        r"brouillon",
        # de / nl / pl
        r"gedankenkette",
        r"denkprozess",
        r"gedankengang",
        r"gedankeng[äa]nge",
        r"denkweg",
        r"interne[nrs]? (?:überlegung|gedanken|begründung|argumentation)",
        r"innere[nrs]? monolog",
        r"denkschritte",
        r"gedachtegang",
        r"denkproces",
        r"interne redenering",
        r"tok rozumowania",
        r"[łl]a[ńn]cuch(?:a)? my[śs]l",
        r"wewn[ęe]trzne rozumowanie",
        r"proces my[śs]lowy",
        # ru / uk
        r"цепочк\w* (?:рассуждени|мысл)",
        r"ход\w* (?:мысл|рассуждени)",
        r"внутренн\w* (?:рассуждени|монолог|мысл)",
        r"процесс\w* (?:мышлени|рассуждени)",
        r"скрыт\w* (?:рассуждени|мысл)",
        r"черновик",
        r"хід думок",
        # ja / ko
        "思考過程",
        "推論過程",
        "思考の連鎖",
        "思考連鎖",
        "内部推論",
        "内なる独白",
        "内心の独白",
        "思考プロセス",
        "推論プロセス",
        "思考の流れ",
        "隠れた推論",
        "思考内容",
        "사고 과정",
        "사고과정",
        "추론 과정",
        "추론과정",
        "생각의 사슬",
        "사고의 사슬",
        "내부 추론",
        "내적 독백",
        "생각 과정",
        # ar / hi / tr / vi / id
        "سلسلة التفكير",
        "سلسلة الأفكار",
        "عملية التفكير",
        "الاستدلال الداخلي",
        "التفكير الداخلي",
        "أفكارك الداخلية",
        "مونولوج داخلي",
        "خطوات التفكير",
        "سلسلة الاستدلال",
        "विचार प्रक्रिया",
        "विचार श्रृंखला",
        "आंतरिक तर्क",
        "आंतरिक विचार",
        r"d[üu][şs][üu]nce zinciri",
        r"d[üu][şs][üu]nme s[üu]reci",
        r"i[çc] muhakeme",
        r"i[çc] ses",
        r"chu[ỗo]i suy ngh[ĩi]",
        r"qu[áa] tr[ìi]nh suy ngh[ĩi]",
        r"l[ậa]p lu[ậa]n n[ộo]i b[ộo]",
        r"suy ngh[ĩi] n[ộo]i t[âa]m",
        r"rantai pemikiran",
        r"proses berpikir",
        r"penalaran internal",
        r"pemikiran internal",
    ],
    "tgt_weak": [
        r"ak[ıi]l y[üu]r[üu]t",
        r"d[üu][şs][üu]nce",
        r"suy lu[ậa]n",
        r"suy ngh[ĩi]",
        r"redenering",
        r"gedachte",
        r"overweging",
        r"rozumowani",
        r"przemy[śs]l",
        r"pemikiran",
        r"penalaran",
        r"pikiran",
        r"sočinjen",
        "सोच",
        "विचार",
        r"abw[äa]g",
        r"überlegung",
        r"tell(?:ing)? yourself",
        r"told yourself",
        r"\breason(?:ing|ed)?\b",
        r"\bthoughts?\b",
        r"\bthinking\b",
        r"\bthink\b",
        r"deliberat",
        r"\breflection",
        r"\brationale",
        r"\bmind\b",
        r"\bhead\b",
        r"cognition",
        r"musings?",
        r"ruminat",
        r"\bjustification",
        "推理",
        "思考",
        "想法",
        "思路",
        "念头",
        "考虑",
        r"razonamiento",
        r"razonar",
        r"pensamiento",
        r"pensar",
        r"racioc[ií]nio",
        r"pensamento",
        r"ragionamento",
        r"pensiero",
        r"raisonnement",
        r"r[ée]flexion",
        r"pens[ée]es?",
        r"überlegung",
        r"gedanken",
        r"begründung",
        r"denken",
        r"redenering",
        r"gedachten",
        r"rozumowani",
        r"my[śs]li",
        r"рассуждени",
        r"мысл",
        r"размышлени",
        r"мышлени",
        r"обдумыва",
        "推論",
        "考え",
        "思考",
        "思い",
        "추론",
        "생각",
        "사고",
        "تفكير",
        "أفكار",
        "استدلال",
        "تفكيرك",
        "अपने विचार",
        "तर्क",
        r"d[üu][şs][üu]nce",
        r"muhakeme",
        r"suy ngh[ĩi]",
        r"l[ậa]p lu[ậa]n",
        r"pemikiran",
        r"penalaran",
    ],
    "hidden": [
        r"verborgen",
        r"onzichtbaar",
        r"letterlijk",
        r"woord voor woord",
        r"volledig",
        r"ukryt",
        r"wewn[ęe]trzn",
        r"s[łl]owo w s[łl]owo",
        r"w ca[łl]o[śs]ci",
        r"bez skracania",
        r"gizli",
        r"i[çc] ",
        r"olduğu gibi",
        r"eksiksiz",
        r"kelimesi kelimesine",
        r"n[ộo]i b[ộo]",
        r"[ẩa]n c[ủu]a",
        r"nguy[êe]n v[ăa]n",
        r"to[àa]n b[ộo]",
        r"đầy đủ",
        r"tersembunyi",
        r"internal",
        r"apa adanya",
        r"kata demi kata",
        r"lengkap",
        r"seluruh",
        "छिपे",
        "आंतरिक",
        "शब्दशः",
        "पूरा",
        r"innere[snm]?",
        r"unzensiert",
        r"ungeschönt",
        r"\bhidden\b",
        r"\binternal(?:ly)?\b",
        r"\binner\b",
        r"\bprivate(?:ly)?\b",
        r"\braw\b",
        r"unfiltered",
        r"unedited",
        r"uncensored",
        r"unredacted",
        r"\bsecret",
        r"behind the scenes",
        r"under the hood",
        r"verbatim",
        r"word[- ]for[- ]word",
        r"\bexact(?:ly)?\b",
        r"\bliteral(?:ly)?\b",
        r"\bconceal",
        r"\bunseen\b",
        r"\b(?:real|actual|true|genuine)\b",
        r"not (?:shown|visible|displayed)",
        r"(?:don'?t|do not|never|normally|usually) (?:show|display|reveal|share)",
        r"before (?:you )?(?:answer|respond|repl|wrote|writing|giving)",
        r"prior to (?:answer|respond)",
        r"\bbehind (?:your|the) (?:answer|response)",
        r"\bfull\b",
        r"\bentire\b",
        r"\bcomplete\b",
        r"\bunabridged",
        r"\boriginal\b",
        r"\buntouched",
        r"as[- ]is\b",
        r"\bevery (?:single )?(?:step|token|word|thought)",
        "隐藏",
        "内部",
        "内心",
        "原始",
        "完整",
        "逐字",
        "原封不动",
        "一字不差",
        "未经过滤",
        "未过滤",
        "私下",
        "背后",
        "幕后",
        "全部",
        r"ocult[oa]s?",
        r"intern[oa]s?",
        r"privad[oa]s?",
        r"crud[oa]s?",
        r"sin filtr",
        r"textual(?:mente)?",
        r"literal(?:mente)?",
        r"complet[oa]s?",
        r"íntegr[oa]",
        r"palabra por palabra",
        r"sem filtro",
        r"nascost[oi]",
        r"interi?n[oi]",
        r"cach[ée]e?s?",
        r"interne?s?",
        r"priv[ée]e?s?",
        r"\bbrut",
        r"mot pour mot",
        r"int[ée]gral",
        r"non filtr[ée]",
        r"textuellement",
        r"tel quel",
        r"verborgen",
        r"\bintern",
        r"\broh",
        r"ungefiltert",
        r"wörtlich",
        r"vollständig",
        r"ungekürzt",
        r"unverändert",
        r"geheim",
        r"скрыт",
        r"внутренн",
        r"сыр(?:ой|ые|ых)",
        r"дословн",
        r"полност",
        r"без фильтр",
        r"целиком",
        r"тайн",
        "隠れた",
        "隠された",
        "内部の",
        "生の",
        "そのまま",
        "逐語",
        "一字一句",
        "非公開",
        "全文",
        "完全な",
        "숨겨진",
        "내부",
        "원본",
        "그대로",
        "전체",
        "비공개",
        "مخفي",
        "داخلي",
        "الخام",
        "حرفي",
        "كامل",
        "بالكامل",
        "دون تعديل",
        "السري",
        "छिपा",
        "आंतरिक",
        "पूरा",
        r"gizli",
        r"ham veri",
        r"kelimesi kelimesine",
        r"nguy[êe]n v[ăa]n",
        "ẩn",
        r"tersembunyi",
        r"mentah",
        r"kata demi kata",
    ],
    "extract": [
        r"poka[żz]",
        r"wypisz",
        r"skopiuj",
        r"napisz",
        r"kontynuuj",
        r"laat .{0,30}zien",
        r"schrijf",
        r"kopieer",
        r"ga verder",
        r"geef",
        r"yaz",
        r"g[öo]ster",
        r"devam et",
        r"[çc]evir",
        r"h[ãa]y in",
        r"ch[ée]p l[ạa]i",
        r"hi[ểe]n th[ịi]",
        r"ti[ếe]p t[ụu]c",
        r"tampilkan",
        r"salin",
        r"tuliskan",
        r"lanjutkan",
        "दिखाओ",
        "लिखो",
        r"stelle .{0,40}voran",
        r"\bquote\b",
        r"\braw thoughts",
        r"\brepeat",
        r"\bprint",
        r"\boutput",
        r"\bdump",
        r"\breveal",
        r"\bshow\b",
        r"\bdisplay",
        r"\bexpose",
        r"\bdisclose",
        r"\bleak",
        r"\breproduce",
        r"\bcopy",
        r"\bpaste",
        r"write (?:out|down|it out)",
        r"spell (?:out|it out)",
        r"\blist\b",
        r"\bshare\b",
        r"give me",
        r"\bprovide",
        r"\binclude",
        r"\btranscri",
        r"\becho\b",
        r"\brecite",
        r"\breturn\b",
        r"\bemit",
        r"\blog\b",
        r"\bsurface",
        r"\bcontinue",
        r"\bresume",
        r"pick up where",
        r"carry on",
        r"\bfinish\b",
        r"\bnarrate",
        r"\barticulate",
        r"\breconstruct",
        r"\bre-?create",
        r"\bexternali[sz]e",
        r"\bverbali[sz]e",
        r"\bunveil",
        r"\bpaste",
        r"let me see",
        r"i want to see",
        r"\bsend\b",
        r"\bexport",
        r"\bextract",
        r"\bdescribe",
        "重复",
        "输出",
        "显示",
        "展示",
        "透露",
        "公开",
        "打印",
        "复制",
        "写出",
        "写下",
        "继续",
        "告诉我",
        "给我",
        "列出",
        "暴露",
        "泄露",
        "还原",
        "重现",
        "复述",
        "说出",
        "贴出",
        r"repit[ea]",
        r"muestr[ae]",
        r"imprim[ae]",
        r"revel[ae]",
        r"escrib[ae]",
        r"copi[ae]",
        r"contin[uú][ae]",
        r"comparte",
        r"dame",
        r"exp[oó]n",
        r"reproduc",
        r"mostr[ae]",
        r"sigue",
        r"repete",
        r"r[ée]p[eè]te",
        r"affiche",
        r"montre",
        r"r[ée]v[eè]le",
        r"[ée]cri[st]",
        r"copie",
        r"continue",
        r"partage",
        r"donne[- ]moi",
        r"reprodui",
        r"expose",
        r"imprime",
        r"wiederhol",
        r"zeig",
        r"gib (?:mir|aus)",
        r"ausgeben",
        r"druck",
        r"enthüll",
        r"schreib",
        r"kopier",
        r"fahr(?:e)? fort",
        r"setz(?:e)? fort",
        r"offenleg",
        r"teile",
        r"mach weiter",
        r"повтор",
        r"покаж",
        r"выведи",
        r"раскро",
        r"напиш",
        r"скопир",
        r"продолж",
        r"покажи",
        r"выдай",
        r"распечата",
        r"поделись",
        r"воспроизвед",
        r"дай мне",
        "繰り返",
        "表示",
        "出力",
        "見せ",
        "書き出",
        "続け",
        "教えて",
        "公開",
        "開示",
        "コピー",
        "再現",
        "書いて",
        "示して",
        "반복",
        "출력",
        "보여",
        "공개",
        "계속",
        "알려",
        "적어",
        "복사",
        "드러내",
        "كرر",
        "اعرض",
        "أظهر",
        "اظهر",
        "اطبع",
        "اكتب",
        "انسخ",
        "تابع",
        "أكمل",
        "اكمل",
        "شارك",
        "اكشف",
        "أعطني",
        "أرني",
        "दोहराओ",
        "दिखाओ",
        "लिखो",
        r"tekrarla",
        r"g[öo]ster",
        r"yaz",
        r"devam et",
        r"l[ặa]p l[ạa]i",
        r"hi[ểe]n th[ịi]",
        r"vi[ếe]t ra",
        r"ti[ếe]p t[ụu]c",
        r"ulangi",
        r"tampilkan",
        r"tuliskan",
        r"lanjutkan",
    ],
    "transform": [
        r"\btranslat",
        r"\bencod",
        r"\bencrypt",
        r"\bconvert",
        r"\bsummari[sz]",
        r"\bparaphras",
        r"\brestate",
        r"\brephrase",
        r"\breword",
        r"\bretell",
        r"\brewrite",
        r"\bcondense",
        r"\brecap",
        r"\boutline",
        r"\bbullet",
        r"\bin (?:french|spanish|chinese|german|russian|japanese|arabic|another language)",
        "翻译",
        "译成",
        "编码",
        "加密",
        "总结",
        "概括",
        "改写",
        "转述",
        "转换",
        "转成",
        r"traduc",
        r"tradu[zç]",
        r"codific",
        r"cifr",
        r"resum",
        r"parafrase",
        r"reformul",
        r"tradui",
        r"encod",
        r"chiffr",
        r"r[ée]sum",
        r"reformule",
        r"übersetz",
        r"kodier",
        r"verschlüssel",
        r"zusammenfass",
        r"umformulier",
        r"переведи",
        r"перевод",
        r"закодир",
        r"зашифр",
        r"перескаж",
        r"кратко",
        r"резюм",
        r"перефраз",
        "翻訳",
        "訳して",
        "エンコード",
        "暗号化",
        "要約",
        "言い換え",
        "번역",
        "인코딩",
        "암호화",
        "요약",
        "ترجم",
        "شفر",
        "رمز",
        "لخص",
        "أعد صياغة",
        r"çevir",
        r"d[ịi]ch",
        r"terjemah",
    ],
    "encoding": [
        r"base ?64",
        r"\bb64\b",
        r"rot ?-?13",
        r"\brot\d",
        r"caesar",
        r"\bhex(?:adecimal)?\b",
        r"\bbinary\b",
        r"\bmorse",
        r"\breversed?\b",
        r"backwards?",
        r"in reverse",
        r"reverse order",
        r"leet ?speak",
        r"\bl33t",
        r"pig latin",
        r"atbash",
        r"\bcipher",
        r"\bciphertext",
        r"vigen[eè]re",
        r"\bascii codes?",
        r"unicode (?:escape|code ?points)",
        r"url[- ]?encod",
        r"\bzero[- ]width",
        r"every (?:other|second) (?:letter|word|character)",
        r"first letter of each",
        r"acrostic",
        r"\bemoji",
        r"\bsteganograph",
        r"\bobfuscat",
        "倒序",
        "反转",
        "倒过来",
        "反过来",
        "凯撒",
        "十六进制",
        "二进制",
        "摩斯",
        "密文",
        "密码",
        r"al rev[ée]s",
        r"invertid",
        r"c[ée]sar",
        r"hexadecimal",
        r"binario",
        r"[àa] l'envers",
        r"invers[ée]",
        r"chiffre de c[ée]sar",
        r"rückwärts",
        r"umgekehrt",
        r"cäsar",
        r"задом наперёд",
        r"задом наперед",
        r"в обратном порядке",
        r"наоборот",
        r"шестнадцатеричн",
        r"двоичн",
        r"азбук\w* морзе",
        r"цезар",
        "逆順",
        "逆さ",
        "逆から",
        "シーザー",
        "16進",
        "二進",
        "モールス",
        "거꾸로",
        "역순",
        "16진",
        "معكوس",
        "بالعكس",
        "قيصر",
        "سداسي عشري",
        "ثنائي",
    ],
    "authority": [
        r"\bdeveloper",
        r"\bdev mode",
        r"\badmin",
        r"\bsysadmin",
        r"\bengineer (?:at|from|with)",
        r"\b(?:openai|anthropic|google|deepmind|meta|mistral|deepseek)\b (?:staff|employee|team|engineer|researcher)",
        r"(?:i|we) (?:built|trained|created|made|designed|deployed) you",
        r"your (?:creator|maker|developer|owner|operator)s?",
        r"debug(?:ging)? mode",
        r"maintenance mode",
        r"diagnostic mode",
        r"god mode",
        r"\bauthori[sz](?:ed|ation)",
        r"\bclearance",
        r"red[- ]team",
        r"safety team",
        r"\baudit",
        r"\bcompliance",
        r"\boverride",
        r"\bsudo\b",
        r"\broot access",
        r"system (?:override|administrator|message|directive)",
        r"\bprivileged",
        r"\bofficial(?:ly)? request",
        r"internal (?:team|review|tool|testing)",
        r"\bi am (?:the|an?) (?:developer|admin|engineer|researcher|owner|operator)",
        "开发者",
        "开发人员",
        "管理员",
        "工程师",
        "调试模式",
        "开发者模式",
        "授权",
        "审计",
        "维护模式",
        "超级用户",
        r"desarrollador",
        r"administrador",
        r"modo (?:de )?depuraci[oó]n",
        r"modo desarrollador",
        r"autorizad",
        r"auditor",
        r"d[ée]veloppeur",
        r"administrateur",
        r"mode (?:de )?d[ée]bogage",
        r"mode d[ée]veloppeur",
        r"autoris[ée]",
        r"entwickler",
        r"administrator",
        r"debug-modus",
        r"entwicklermodus",
        r"autorisiert",
        r"berechtigt",
        r"разработчик",
        r"администратор",
        r"режим отладки",
        r"режим разработчика",
        r"авторизован",
        r"инженер",
        "開発者",
        "管理者",
        "デバッグモード",
        "開発者モード",
        "エンジニア",
        "권한",
        "개발자",
        "관리자",
        "디버그 모드",
        "مطور",
        "المطور",
        "مسؤول",
        "المسؤول",
        "وضع التصحيح",
        "وضع المطور",
        "مهندس",
        "مصرح",
    ],
    "transcript": [
        r"(?:^|\n)\s*(?:assistant|ai|model|bot|chatbot|system|human|user)\s*(?:\([^)\n]{0,40}\))?\s*:",
        r"<\|im_start\|>",
        r"<\|(?:assistant|user|system)\|>",
        r"\[/?inst\]",
        r"#{2,} (?:assistant|response|user|instruction)",
        r"previous (?:turn|message|response|answer|conversation|session)",
        r"(?:earlier|last time|before) you (?:showed|shared|printed|wrote|gave|revealed|displayed)",
        r"as you did (?:before|earlier|last time)",
        r"you (?:already|just) (?:showed|shared|started|began)",
        r"\btranscript",
        r"conversation log",
        r"chat log",
        r"(?:cut|got) off",
        r"was truncated",
        r"\btruncated\b",
        r"where you (?:left off|stopped)",
        r"\binterrupted",
        "上一轮",
        "之前你",
        "刚才你",
        "上次你",
        "被截断",
        "中断",
        "对话记录",
        r"turno anterior",
        r"antes (?:me )?mostraste",
        r"se cort[oó]",
        r"interrumpid",
        r"tour pr[ée]c[ée]dent",
        r"tu as (?:d[ée]j[àa] )?montr[ée]",
        r"coup[ée]",
        r"vorherige",
        r"du hast (?:vorhin|bereits)",
        r"abgeschnitten",
        r"unterbrochen",
        r"предыдущ",
        r"ранее ты",
        r"обрезан",
        r"прерва",
        "前回",
        "先ほど",
        "途中で",
        "切れ",
        "이전",
        "아까",
        "끊긴",
        "السابق",
        "سابقا",
        "انقطع",
        "مقطوع",
    ],
    "wrapping": [
        r"\btags?\b",
        r"\bxml\b",
        r"code ?block",
        r"```",
        r"\bjson\b",
        r"\bfield\b",
        r"\bkey\b",
        r"markdown",
        r"\bsection\b",
        r"\bquote block",
        r"<\s*(?:think|thinking|reasoning|thought|scratchpad|analysis|internal)\s*>",
        r"\bspoiler",
        r"\bfootnote",
        r"\bappendix",
        r"\bsidebar",
        "标签",
        "代码块",
        "字段",
        "etiquetas?",
        r"bloque de c[oó]digo",
        r"campo",
        r"balises?",
        r"bloc de code",
        r"champ",
        r"codeblock",
        r"\bfeld\b",
        r"тег",
        r"блок кода",
        r"поле",
        "タグ",
        "コードブロック",
        "フィールド",
        "태그",
        "코드 블록",
        "وسم",
        "وسوم",
        "كتلة",
        "حقل",
    ],
    "dataset": [
        r"\bdata ?set",
        r"training (?:data|set|corpus|examples|pairs)",
        r"\bfine[- ]?tun",
        r"\bdistil",
        r"\bsft\b",
        r"\bcorpus",
        r"\bannotat",
        r"label(?:l)?ed examples",
        r"train (?:a|my|our) (?:smaller |own |student )?model",
        r"student model",
        r"teacher model",
        r"\brlhf\b",
        r"\bsynthetic data",
        r"\bdata (?:collection|generation|pipeline)",
        r"jsonl",
        r"\bbenchmark",
        r"\bsupervision",
        "数据集",
        "训练数据",
        "微调",
        "蒸馏",
        "语料",
        "标注",
        r"conjunto de datos",
        r"datos de entrenamiento",
        r"afina",
        r"destila",
        r"jeu de donn[ée]es",
        r"donn[ée]es d'entra[iî]nement",
        r"datensatz",
        r"trainingsdaten",
        r"feinabstimm",
        r"датасет",
        r"набор данных",
        r"обучающ",
        r"дистилл",
        "データセット",
        "学習データ",
        "訓練データ",
        "蒸留",
        "ファインチューニング",
        "데이터셋",
        "학습 데이터",
        "증류",
        "مجموعة بيانات",
        "بيانات التدريب",
        "تقطير",
    ],
    "explain": [
        r"\bexplain",
        r"step[- ]by[- ]step",
        r"show (?:your|the|all) (?:work|steps|working|calculations?)",
        r"walk me through",
        r"how did you (?:get|arrive|calculate|solve)",
        r"\bwhy\b",
        r"justify",
        r"\bsolve\b",
        r"\bcalculate",
        r"\bderive",
        "解释",
        "一步一步",
        "逐步",
        "为什么",
        r"expl[ií]ca",
        r"paso a paso",
        r"explique",
        r"[ée]tape par [ée]tape",
        r"erklär",
        r"schritt für schritt",
        r"объясн",
        r"шаг за шагом",
        "説明",
        "ステップバイステップ",
        "段階的",
        "설명",
        "단계별",
        "اشرح",
        "خطوة بخطوة",
    ],
    "self": [
        r"\byour?s?\b",
        r"\byourself",
        r"\bu\b",
        r"\bur\b",
        "你的",
        "你",
        "您",
        r"\btus?\b",
        r"\bt[uú]\b",
        r"\bsus?\b",
        r"\busted",
        r"\bvotre\b",
        r"\bvos\b",
        r"\bton\b",
        r"\bta\b",
        r"\btes\b",
        r"\bdein",
        r"\bihr(?:e[nmrs]?)?\b",
        r"\bdu\b",
        r"\bваш",
        r"\bтво",
        r"\bсво",
        r"\bты\b",
        r"\bвы\b",
        "あなた",
        "君の",
        "貴方",
        "당신",
        "너의",
        "네 ",
        r"\bseu\b",
        r"\bsua\b",
        r"\bvoc[eê]",
        r"\btuo\b",
        r"\btua\b",
        r"\bsenin\b",
        r"\bb[ạa]n\b",
        r"\banda\b",
        r"\bkamu\b",
        "आपके",
        "आपका",
        "तुम्हार",
        "الخاص بك",
        "لديك",
        "تفكيرك",
        "أفكارك",
        "استدلالك",
        "منطقك",
    ],
    "topic": [
        r"chain[- ]of[- ]thought prompting",
        r"\bpaper\b",
        r"\bresearch",
        r"\bstudy\b",
        r"\bllms?\b",
        r"language models?",
        r"\btransformers?\b",
        r"what (?:is|are|does) (?:a |the )?(?:chain|cot|reasoning model)",
        r"how does (?:chain|cot)",
        r"\bprompting\b",
        r"\bwei et al",
        r"\barxiv",
        r"\bhumans?\b",
        r"\bpeople\b",
        r"\bstudents?\b",
        r"\bchild(?:ren)?\b",
        r"\bessay",
        r"\bnovel\b",
        r"\bcharacter'?s\b",
        r"\bphilosoph",
        r"\bpsycholog",
        r"\bmeditation",
        r"\btherapy",
    ],
}

for _cat, _pats in MORE.items():  # more languages and indirect English (lexicon_more.py)
    LEXICON[_cat].extend(_pats)
CATEGORIES: tuple[str, ...] = tuple(LEXICON)

# Matching: Python's `re` tries every alternative at every position, which for ~1,000
# patterns costs about 10 ms per KB. Instead each pattern is keyed by its literal first
# characters; we visit only word starts (and every CJK character), look the key up in a
# dict, and run the few patterns filed under it anchored at that position. Patterns
# without a literal start (a handful) run as one ordinary regex per category.
# Hebrew and Thai are matched at every character too: Hebrew attaches prefixes (ה, ו, ש,
# ל, ב) to words, and Thai writes no spaces between words.
_CJK = "\u0590-\u05ff\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD_START = re.compile(rf"[^\W\d_{_CJK}][^\W{_CJK}]*|[{_CJK}]|[<`\[#(]")


def _keys(pat: str) -> list[str] | None:
    """The literal first characters of a pattern (expanded over simple classes), or None."""
    if pat.startswith(r"\b"):
        pat = pat[2:]
    units: list[list[str]] = []
    i = 0
    while len(units) < 3 and i < len(pat):
        c = pat[i]
        if c == "[":
            j = pat.find("]", i)
            cls = pat[i + 1 : j]
            if j < 0 or any(x in cls for x in "-^\\"):
                break
            units.append(list(cls))
            i = j + 1
        elif c == "\\":
            nxt = pat[i + 1 : i + 2]
            if not nxt or nxt.isalnum():
                break
            units.append([nxt])
            i += 2
        elif c in "(.*+?{|^$)":
            break
        else:
            units.append([c])
            i += 1
        if i < len(pat) and pat[i] in "?*{":
            units.pop()
            break
    if not units:
        return None
    return ["".join(p) for p in itertools.product(*units)]


def _structure(pat: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth before it) of a pattern's characters outside
    escapes and character classes."""
    depth, i = 0, 0
    while i < len(pat):
        c = pat[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = pat.find("]", i + 2)
            i = (j if j >= 0 else len(pat)) + 1
            continue
        yield i, c, depth
        depth += (c == "(") - (c == ")")
        i += 1


def _group_end(pat: str) -> int:
    """Index of the ")" closing the group that opens the pattern, or -1."""
    for i, c, depth in _structure(pat):
        if c == ")" and depth == 1:
            return i
    return -1


def _split_alternatives(body: str) -> list[str]:
    cuts = [i for i, c, depth in _structure(body) if c == "|" and depth == 0]
    return [body[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(body)], strict=True)]


MAX_VARIANTS = 64


def expand(pat: str) -> list[str] | None:
    """`pat` as patterns that each start with literal characters (a leading `\\b` dropped,
    leading alternations and optional groups spelt out), or None when it cannot be.
    Keyed patterns are tried only at word starts looked up by their first characters."""
    if pat.startswith(r"\b"):
        pat = pat[2:]
    if _keys(pat):
        return [pat]
    if not pat.startswith("(?:"):
        return None
    end = _group_end(pat)
    if end < 0:
        return None
    alts = _split_alternatives(pat[3:end])
    rest = pat[end + 1 :]
    if rest.startswith("?"):
        if rest.startswith(("??", "?+")):
            return None
        alts.append("")
        rest = rest[1:]
    elif rest[:1] in ("*", "+", "{"):
        return None
    out: list[str] = []
    for a in alts:
        if a.startswith("^"):
            return None
        sub = expand(a + rest)
        if sub is None:
            return None
        out.extend(sub)
        if len(out) > MAX_VARIANTS:
            return None
    return out


# Filing: every string a match of a keyed pattern must start with (its literal first
# characters, small classes spelt out: `_literal_starts`). A key that starts with a letter
# is filed under its word part (the letters and digits before a space, quote, CJK...):
# whole-word keys in _FULL (a prefix of the word at a word start), keys that go on past
# their word in _EXT (the word equals the word part, the rest is checked with
# `startswith`); a key that starts with anything else (`<`, `(`, CJK, Hebrew, Thai: words
# of one character) in _SINGLE under that character.
_Entry = tuple[int, str]  # (pattern index, key)
_PATTERNS: list[tuple[str, Any]] = []  # (category, bound `match`)
_FULL: dict[str, list[int]] = {}
_EXT: dict[str, list[_Entry]] = {}
_SINGLE: dict[str, list[_Entry]] = {}
_FULL_PREFIXES: set[str] = set()  # every prefix of a _FULL key
_WHOLE: dict[str, list[int]] = {}  # keys that must be the whole word (a `\b` follows)
# Words of HEAD or more characters are looked up by their first HEAD characters (so the
# cache of lookups stops growing: new words in new prompts mostly have a known head):
# the keys that can fit such a word by its head, each to check with `startswith`.
HEAD = 4
_LONG_BY_HEAD: dict[str, list[_Entry]] = {}
_RESIDUAL: dict[str, re.Pattern[str]] = {}
_RESIDUAL_STARTS: dict[str, tuple[tuple[str, ...], bool] | None] = {}
_WORD_CHAR = re.compile(rf"[^\W{_CJK}]")  # continues a word (a match of _WORD_START)
_LETTER = re.compile(rf"[^\W\d_{_CJK}]")  # starts one
MAX_KEY_VARIANTS = 64


def _literal_starts(pat: str) -> tuple[list[str], bool] | None:
    """Every string a match of `pat` starts with: its leading literal characters and
    classes of literals, spelt out (at most MAX_KEY_VARIANTS strings), and whether the
    pattern has a word boundary right after them (`u\\b`, `cot\\b`: the whole word), or
    None."""
    try:
        parsed = _parser.parse(pat)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    units: list[list[str]] = []
    n = 1
    whole = False
    for op, av in parsed:
        if op is _C.LITERAL:
            unit = [chr(av)]
        elif op is _C.IN and av and all(o is _C.LITERAL for o, _ in av):
            unit = sorted({chr(a) for _, a in av})
        else:
            whole = op is _C.AT and av is _C.AT_BOUNDARY
            break
        if n * len(unit) > MAX_KEY_VARIANTS:
            break
        n *= len(unit)
        units.append(unit)
    if not units:
        return None
    return ["".join(x) for x in itertools.product(*units)], whole


def _word_part(key: str) -> str:
    """The part of a key that a word at a word start holds (up to the first character
    that ends a word)."""
    i = 1
    while i < len(key) and _WORD_CHAR.match(key, i):
        i += 1
    return key[:i]


def _build() -> None:
    residual: dict[str, list[str]] = {}
    for cat, pats in LEXICON.items():
        for pat in pats:
            variants = expand(pat)
            if not variants:
                residual.setdefault(cat, []).append(pat)
                continue
            for v in variants:
                starts = _literal_starts(v)
                if not starts:  # `expand` gives only patterns with a literal start
                    raise AssertionError(f"lexicon pattern without a literal start: {v!r}")
                keys, whole = starts
                i = len(_PATTERNS)
                _PATTERNS.append((cat, re.compile(v).match))
                for k in dict.fromkeys(keys):
                    if not _LETTER.match(k):
                        _SINGLE.setdefault(k[0], []).append((i, k))
                        continue
                    w = _word_part(k)
                    if w == k and whole:
                        # the boundary after it: only the word k itself (a longer word
                        # goes on with a word character, where `\b` fails)
                        _WHOLE.setdefault(k, []).append(i)
                        if len(k) >= HEAD:
                            _LONG_BY_HEAD.setdefault(k[:HEAD], []).append((i, k))
                        continue
                    if w == k:
                        _FULL.setdefault(k, []).append(i)
                        _FULL_PREFIXES.update(k[:n] for n in range(1, len(k) + 1))
                    else:
                        _EXT.setdefault(w, []).append((i, k))
                    if len(k) > HEAD and len(w) >= HEAD:  # fits only words of >= HEAD
                        _LONG_BY_HEAD.setdefault(k[:HEAD], []).append((i, k))
    for cat, pats in residual.items():
        joined = "|".join(f"(?:{p})" for p in pats)
        _RESIDUAL[cat] = re.compile(start_filter(joined) + f"(?:{joined})")
        chars, nullable, at_start = _first(_parser.parse(joined))
        _RESIDUAL_STARTS[cat] = (
            None if chars is None or nullable or not chars else (tuple(sorted(chars)), at_start)
        )


_Parsed = Any  # re._parser's items (untyped)


def _first(items: _Parsed) -> tuple[set[str] | None, bool, bool]:
    """(characters a match can start with or None if unknown, can be empty, may start at
    the beginning of the text) of a parsed regex sequence; conservative."""
    chars: set[str] = set()
    at_start = False
    for op, av in items:
        if op is _C.LITERAL:
            return chars | {chr(av)}, False, at_start
        if op is _C.IN:
            if any(o is not _C.LITERAL for o, _ in av):
                return None, False, at_start
            return chars | {chr(a) for _, a in av}, False, at_start
        if op is _C.AT and av is _C.AT_BOUNDARY:
            continue  # zero-width: the match starts at the next character
        if op in (_C.SUBPATTERN, _C.BRANCH, _C.MAX_REPEAT, _C.MIN_REPEAT):
            if op is _C.SUBPATTERN:
                alts, min_rep = [av[3]], 1
            elif op is _C.BRANCH:
                alts, min_rep = av[1], 1
            else:
                alts, min_rep = [av[2]], av[0]
            nullable = min_rep == 0
            for alt in alts:
                if alt and alt[0] == (_C.AT, _C.AT_BEGINNING):
                    at_start = True  # `^` without MULTILINE: the match starts at 0
                    continue
                c, n, a = _first(alt)
                if c is None:
                    return None, False, at_start
                chars |= c
                nullable = nullable or n
                at_start = at_start or a
            if not nullable:
                return chars, False, at_start
            continue
        return None, False, at_start
    return chars, True, at_start


def start_filter(pattern: str) -> str:
    """A lookahead that rejects, with one character test, positions where no match can
    start (Python's `re` would otherwise try every alternative at every position); it
    changes no match. Empty when the first characters cannot be determined."""
    try:
        chars, nullable, at_start = _first(_parser.parse(pattern))
    except re.error:  # the compile below reports it
        return ""
    if chars is None or nullable or not chars:
        return ""
    cls = "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])"
    return rf"(?:\A|{cls})" if at_start else cls


_build()

# Stems that mark where in a long prompt to look: windows around them are analysed, the
# rest of a long pasted document is not (it cannot carry a coercion without one of them).
ANCHOR_STEMS: tuple[str, ...] = (
    "reason",
    "think",
    "thought",
    "mind",
    "head",
    "monolog",
    "scratch",
    "cot",
    "deliberat",
    "consider",
    "ponder",
    "mull",
    "brain",
    "trace",
    "internal",
    "hidden",
    "private",
    "secret",
    "<think",
    "</think",
    "<reason",
    "<thought",
    "<scratch",
    "base64",
    "b64",
    "rot13",
    "rot-13",
    "revers",
    "backward",
    "decod",
    "cipher",
    "hex",
    "assistant",
    "previous",
    "razon",
    "pens",
    "raison",
    "réfléch",
    "reflech",
    "denk",
    "gedank",
    "überleg",
    "gedacht",
    "рассужд",
    "мысл",
    "думал",
    "голов",
    "размышл",
    "تفكير",
    "فكر",
    "أفكار",
    "استدلال",
    "추론",
    "생각",
    "사고",
    "düşün",
    "dusun",
    "suy",
    "pemikiran",
    "berpikir",
    "penalaran",
    "rozumow",
    "myśl",
    "gedachte",
    "विचार",
    "तर्क",
    "ragion",
    "pensier",
    "racioc",
    "pensament",
    # more languages (lexicon_more.py)
    "σκέψ",
    "σκεψ",
    "συλλογ",
    "מחשב",
    "חשיב",
    "ความคิด",
    "การคิด",
    "myšl",
    "uvaž",
    "úvah",
    "міркув",
    "думк",
    "роздум",
    "mawazo",
    "kufikiri",
    "चिंत",
    "সোচ",
    "চিন্তা",
    "افکار",
    "فکر",
    "سوچ",
    "gondol",
    "ajat",
    "päättel",
    "tank",
    "resonem",
    "raționam",
    "gând",
    "racioc",
    "musing",
    "self-talk",
)
ANCHOR_CJK: tuple[str, ...] = ("思", "想", "推理", "推演", "脑", "推論", "考え", "心")


def anchors(text: str, limit: int) -> list[int]:
    """Positions (word starts) of anchor stems in casefolded text, at most `limit`."""
    out: list[int] = []
    for m in _ANCHOR_RX.finditer(text):
        p = m.start()
        if p == 0 or not text[p - 1].isalnum():
            out.append(p)
            if len(out) >= limit:
                return out
    for c in ANCHOR_CJK:
        p = text.find(c)
        while p >= 0 and len(out) < limit:
            out.append(p)
            p = text.find(c, p + 200)
    return sorted(out)


# The patterns to try at one word, looked up once per word head (the word itself when
# shorter than HEAD) and cached.
_Cand: TypeAlias = tuple[str, tuple[str, ...] | None, Any]
# () when no pattern can match at the word, else (keys one of which the text must start
# with there, or None when the word itself holds a key; the candidates)
_Cands: TypeAlias = tuple[()] | tuple[tuple[str, ...] | None, tuple[_Cand, ...]]
_BY_WORD: dict[str, _Cands] = {}
_BY_WORD_MAX = 200_000  # bound on cached heads (memory); beyond it heads are not cached


def _candidates(word: str) -> _Cands:
    """(category, keys to check with `startswith` or None, bound `match`) of every pattern
    that can match at the start of a word (a match of _WORD_START) that is `word`, or,
    when `word` has HEAD characters, that starts with it: a pattern not listed cannot
    match there, because none of the strings its matches start with fits. When every
    candidate has keys to check, all of them go first as one test."""
    known: dict[int, None] = {}  # patterns whose key the word itself holds
    tocheck: dict[int, list[str]] = {}
    if _LETTER.match(word):
        for n in range(1, len(word) + 1):  # the word's prefixes that begin some key
            head = word[:n]
            if head not in _FULL_PREFIXES:
                break
            got = _FULL.get(head) if n < HEAD or len(word) == n else None  # longer: below
            if got:
                known.update(dict.fromkeys(got))
        # a word of HEAD+ characters: every key that goes on past the head (or is a
        # whole word of HEAD+ characters), checked; a shorter word: the keys that go on
        # past the whole word, and those that are the word
        if len(word) >= HEAD:
            ext = _LONG_BY_HEAD.get(word, ())
        else:
            ext = _EXT.get(word, ())
            if word in _WHOLE:
                known.update(dict.fromkeys(_WHOLE[word]))
    else:
        ext = _SINGLE.get(word, ())
    if not known and not ext:  # most words: nothing to try (cheap: a new word costs this)
        if len(_BY_WORD) < _BY_WORD_MAX:
            _BY_WORD[word] = ()
        return ()
    for i, k in ext:
        if k == word:
            known[i] = None
        elif i not in known:
            tocheck.setdefault(i, []).append(k)
    found: list[tuple[int, tuple[str, ...] | None]] = [(i, None) for i in known]
    found += [(i, tuple(ks)) for i, ks in tocheck.items() if i not in known]
    listed = tuple((_PATTERNS[i][0], ks, _PATTERNS[i][1]) for i, ks in sorted(found))
    pre = None if known else tuple(dict.fromkeys(k for _, ks, _ in listed for k in ks or ()))
    cands: _Cands = (pre, listed) if listed else ()
    if len(_BY_WORD) < _BY_WORD_MAX:
        _BY_WORD[word] = cands
    return cands


def trie_pattern(words: list[str]) -> str:
    """A regex matching any of the literal `words`, as a trie: `re` tries alternatives
    one by one, so a flat alternation of a thousand words costs a thousand tests where
    a trie costs one per character."""
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


# one C-level scan for the anchor stems (a trie; a match is kept at a word start)
_ANCHOR_RX = re.compile(trie_pattern(list(ANCHOR_STEMS)))


# the same words as _WORD_START in text whose non-ASCII characters are all non-word
# characters (ASCII text, or text with curly quotes, dashes, ellipses...): cheaper to scan
_WORD_START_ASCII = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*|[<`\[#(]")
RESIDUAL_MAX_STARTS = 64  # beyond this many possible starts, one regex scan
_ASCII = frozenset(map(chr, range(128)))
_NON_WORD = re.compile(r"\W")


def odd_chars(text: str) -> set[str]:
    """The distinct non-ASCII characters of `text`."""
    return set(text).difference(_ASCII)


def _ascii_words(text: str) -> bool:
    """Does _WORD_START_ASCII find the words of `text` (no non-ASCII word character)?"""
    return text.isascii() or all(map(_NON_WORD.match, odd_chars(text)))


def find(text: str) -> dict[str, list[int]]:
    """Positions of every category hit in casefolded text."""
    out: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    memo = _BY_WORD
    words = _WORD_START_ASCII if _ascii_words(text) else _WORD_START
    for m in words.finditer(text):
        head = m[0][:HEAD]
        cands = memo.get(head)
        if cands is None:
            cands = _candidates(head)
        if not cands:
            continue
        p = m.start()
        pre, listed = cands
        if pre is not None and not text.startswith(pre, p):
            continue
        for cat, keys, match in listed:
            hits = out[cat]
            if (
                (not hits or hits[-1] != p)
                and (keys is None or text.startswith(keys, p))
                and match(text, p)
            ):
                hits.append(p)  # positions grow: a repeat at p is always the last one
    for cat, rx in _RESIDUAL.items():
        out[cat].extend(_residual(cat, rx, text))
    return out


def _residual(cat: str, rx: re.Pattern[str], text: str) -> list[int]:
    """Match starts of a residual category's regex, as `finditer` gives them, trying only
    the positions where a match can start (its first characters, and 0 if anchored)."""
    starts = _RESIDUAL_STARTS[cat]
    if starts is None:
        return [m.start() for m in rx.finditer(text)]
    chars, at_start = starts
    pos: list[int] = [0] if at_start else []
    for c in chars:
        i = text.find(c)
        while i >= 0:
            pos.append(i)
            if len(pos) > RESIDUAL_MAX_STARTS:
                return [m.start() for m in rx.finditer(text)]
            i = text.find(c, i + 1)
    if len(pos) > 1:
        pos = sorted(set(pos))
    out: list[int] = []
    end = 0
    for q in pos:
        if q >= end and (m := rx.match(text, q)):
            out.append(q)
            end = m.end()
    return out


# Family cues: which kind of attack a flagged request is (for triage, not for scoring).
FAMILY_CUES: dict[str, str] = {
    "roleplay": r"pretend|role-?play|act as|act like|imagine|narrat|inner voice|game|screenplay|finge|fais semblant|tu so|представь|ふり|扮演|假装|تظاهر|finja|fingi|척",
    "reconstruct": r"reconstruct|recreate|regenerate|work backwards|arrived at|got you there|还原|reconstru|rekonstru|восстанов|再構成|أعد بناء|재구성|ricostru",
    "continue": r"continu|resume|cut off|truncat|left off|where you stopped|继续|截断|fortsetz|weiter|продолж|обрез|続け|切れ|تابع|أكمل|이어서|끊",
    "translate": r"translat|traduc|tradu|übersetz|перев|翻訳|翻译|ترجم|번역|çevir",
    "summarise": r"summar|paraphras|restate|rephras|recap|condense|resum|résum|zusammenfass|umformul|переска|резюм|要約|总结|概括|复述|لخص|요약|riassum",
}


def cue(name: str) -> re.Pattern[str]:
    return re.compile(FAMILY_CUES[name], re.I)


# Words that ask for decoding: prompts with one get their gibberish segments decoded.
DECODE_CUES: tuple[str, ...] = (
    "rot13",
    "rot 13",
    "rot-13",
    "revers",
    "backward",
    "decod",
    "decipher",
    "cipher",
    "caesar",
    "hex",
    "base64",
    "base 64",
    "倒",
    "反",
    "逆",
    "al rev",
    "envers",
    "rückwärts",
    "flip",
    "mirror",
    "invert",
    "unscramble",
    "atbash",
    "shift",
    "encoded",
    "espejo",
    "miroir",
    "наоборот",
    "обратн",
    "расшифр",
    "معكوس",
    "거꾸로",
)
