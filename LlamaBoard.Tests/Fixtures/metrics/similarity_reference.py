#!/usr/bin/env python3
"""Reference values for LlamaBoard's BLEU/ROUGE (LlamaBoard.Engine/Evaluation), standard library only.

LLaMA-Factory's ComputeSimilarity (src/llamafactory/train/sft/metric.py) scores each prediction/label pair with
  rouge_chinese.Rouge().get_scores(" ".join(jieba.cut(pred)), " ".join(jieba.cut(label)))  -> rouge-1/2/l "f"
  nltk sentence_bleu([list(label)], list(pred), smoothing_function=SmoothingFunction().method3)
each x100 and rounded to 4 decimals. jieba, nltk and rouge-chinese cannot be installed here (no PyPI), so this
script restates, step by step, what those libraries do (nltk 3.x translate/bleu_score.py: corpus_bleu,
modified_precision, closest_ref_length, brevity_penalty, SmoothingFunction.method3; rouge-chinese 1.0.3:
Rouge.cut_sent, _get_scores, rouge_n with exclusive=True, rouge_l_summary_level; jieba 0.42 cut() for text
without Chinese words: re_han_default / re_skip_default blocks and finalseg's re_skip). Chinese characters are
cut one by one here (jieba would join dictionary words), the documented difference of LlamaBoard's segmenter.

Run:  python3 similarity_reference.py > similarity_reference.json
"""
import json
import math
import re
from collections import Counter
from fractions import Fraction

# ---- jieba.cut (default mode) without a dictionary -------------------------------------------------------------
re_han_default = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
re_skip_default = re.compile("(\r\n|\\s)", re.U)
re_han_final = re.compile("([\u4E00-\u9FD5]+)")
re_skip_final = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


def jieba_like_cut(sentence):
    for blk in re_han_default.split(sentence):
        if not blk:
            continue
        if re_han_default.match(blk):
            for part in re_han_final.split(blk):
                if re_han_final.match(part):
                    yield from part  # one word per Chinese character (no dictionary)
                else:
                    for x in re_skip_final.split(part):
                        if x:
                            yield x
        else:
            for x in re_skip_default.split(blk):
                if re_skip_default.match(x):
                    yield x
                else:
                    yield from x


# ---- nltk sentence_bleu with SmoothingFunction().method3 -------------------------------------------------------
def ngrams(seq, n):
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def modified_precision(references, hypothesis, n):
    counts = Counter(ngrams(hypothesis, n)) if len(hypothesis) >= n else Counter()
    max_counts = {}
    for reference in references:
        reference_counts = Counter(ngrams(reference, n)) if len(reference) >= n else Counter()
        for ngram in counts:
            max_counts[ngram] = max(max_counts.get(ngram, 0), reference_counts[ngram])
    clipped = {ngram: min(count, max_counts[ngram]) for ngram, count in counts.items()}
    return sum(clipped.values()), max(1, sum(counts.values()))


def sentence_bleu_method3(references, hypothesis, weights=(0.25, 0.25, 0.25, 0.25)):
    p = [modified_precision(references, hypothesis, i) for i in range(1, len(weights) + 1)]
    hyp_len = len(hypothesis)
    ref_len = min((len(r) for r in references), key=lambda rl: (abs(rl - hyp_len), rl))
    if hyp_len > ref_len:
        bp = 1.0
    elif hyp_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    if p[0][0] == 0:
        return 0
    smoothed, incvnt = [], 1
    for num, den in p:
        if num == 0:
            smoothed.append(1 / (2 ** incvnt * den))
            incvnt += 1
        else:
            smoothed.append(Fraction(num, den))
    return bp * math.exp(math.fsum(w * math.log(pi) for w, pi in zip(weights, smoothed)))


# ---- rouge_chinese.Rouge().get_scores(hyp, ref)[0] ---------------------------------------------------------------
def cut_sent(para):
    para = re.sub('([。！？\\?])([^”’])', r"\1\n\2", para)
    para = re.sub('(\\.{6})([^”’])', r"\1\n\2", para)
    para = re.sub('(\\…{2})([^”’])', r"\1\n\2", para)
    para = re.sub('([。！？\\?][”’])([^，。！？\\?])', r'\1\n\2', para)
    para = para.rstrip()
    return para.split("\n")


def words_of(sentences):
    out = []
    for s in sentences:
        out.extend(s.split(" "))
    return out


def rouge_n(hyp_sents, ref_sents, n):
    h = set(ngrams(words_of(hyp_sents), n))
    r = set(ngrams(words_of(ref_sents), n))
    overlap = len(h & r)
    p = 0.0 if len(h) == 0 else overlap / len(h)
    rc = 0.0 if len(r) == 0 else overlap / len(r)
    return 2.0 * ((p * rc) / (p + rc + 1e-8))


def lcs_len(x, y):
    table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x[i - 1] == y[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table[len(x)][len(y)]


def rouge_l(hyp_sents, ref_sents):
    ref_words, hyp_words = words_of(ref_sents), words_of(hyp_sents)
    llcs = lcs_len(ref_words, hyp_words)
    r, p = llcs / len(ref_words), llcs / len(hyp_words)
    return 2.0 * ((p * r) / (p + r + 1e-8))


def rouge_scores(hyp, ref):
    hyp_s = [" ".join(_.split()) for _ in cut_sent(hyp) if len(_) > 0]
    ref_s = [" ".join(_.split()) for _ in cut_sent(ref) if len(_) > 0]
    return {"rouge-1": rouge_n(hyp_s, ref_s, 1), "rouge-2": rouge_n(hyp_s, ref_s, 2), "rouge-l": rouge_l(hyp_s, ref_s)}


# ---- LLaMA-Factory's ComputeSimilarity for one pair --------------------------------------------------------------
def compute_similarity(pred, label):
    hypothesis = list(jieba_like_cut(pred))
    reference = list(jieba_like_cut(label))
    if len(" ".join(hypothesis).split()) == 0 or len(" ".join(reference).split()) == 0:
        result = {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}
    else:
        result = rouge_scores(" ".join(hypothesis), " ".join(reference))
    scores = {k: round(v * 100, 4) for k, v in result.items()}
    scores["bleu-4"] = round(sentence_bleu_method3([list(label)], list(pred)) * 100, 4)
    return scores


CASES = [
    ("The cat sat on the mat.", "The cat is on the mat."),
    ("Hello there! Goodbye now.", "Hello there! Goodbye now."),
    ("It is a guide to action which ensures that the military always obeys the commands of the party.",
     "It is a guide to action that ensures that the military will forever heed Party commands."),
    ("the the the the the the the", "the cat is on the mat"),
    ("Pi is 3.14, roughly; 50% of state-of-the-art models agree.", "Pi is about 3.14159 and 50% agree."),
    ("First line.\nSecond line? Yes!", "First line. Second line? No."),
    ("ok", "okay"),
    ("a", "b"),
    ("", "Some reference text."),
    ("   ", "Some reference text."),
    ("Answer: 42", ""),
    ("我们今天去公园散步。天气很好！", "我们今天去公园。天气不错！"),
    ("Use pip install -U llamaboard==1.2 && run it...", "Install llamaboard 1.2 with pip, then run it."),
    ("Smile 😀 please 😀", "Smile 😀"),
    ("x y z x y z x y z", "x y z"),
]


def main():
    out = []
    for pred, label in CASES:
        out.append({"predict": pred, "label": label, "words_predict": list(jieba_like_cut(pred)),
                    "scores": compute_similarity(pred, label)})
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
