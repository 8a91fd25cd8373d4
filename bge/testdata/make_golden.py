"""Record the parity golden file for the bge package's pure-Go encoder.

Builds a tiny BERT with Hugging Face transformers (fixed seed), saves it in
Hub layout next to this script (golden/), embeds a few texts with
transformers' BertModel, and writes golden.json: for each text the token
ids of BertTokenizerFast and the L2-normalised CLS and mean-pooled
embeddings. bge/golden_test.go loads golden/ through bge.Load and compares.

Needs torch and transformers (no network). From the repository root:

    python3 bge/testdata/make_golden.py

then commit bge/testdata/golden/ and bge/testdata/golden.json.
"""

import json
import math
import os

import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")
VOCAB_SRC = os.path.join(HERE, "..", "..", "wordpiece", "bert-base-uncased-vocab.txt")
MAX_LEN = 64

TEXTS = [
    "",
    "hello",
    "The quick brown fox jumps over the lazy dog.",
    "Café déjà vu: naïve résumé, 東京 and 北京!",
    "retrieval augmented generation works on chunks of text " * 12,
    "a b c d e f g h i j k l m n o p",
    "What is the capital of France?",
]


def tiny_vocab(words=5000):
    """The first `words` entries of bert-base-uncased plus every "##x"
    single-character continuation: the selection bgetest.Vocabulary makes."""
    with open(VOCAB_SRC, encoding="utf-8") as f:
        full = [line.rstrip("\n") for line in f]
    seen, vocab = set(), []
    for i, tok in enumerate(full):
        if i < words or (tok.startswith("##") and len(tok) == 3):
            if tok not in seen:
                seen.add(tok)
                vocab.append(tok)
    return vocab


def main():
    os.makedirs(os.path.join(OUT, "1_Pooling"), exist_ok=True)
    vocab = tiny_vocab()
    vocab_path = os.path.join(OUT, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab_file=vocab_path, do_lower_case=True)
    tok.model_max_length = MAX_LEN
    tok.save_pretrained(OUT)

    torch.manual_seed(20261123)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=MAX_LEN,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
    )
    model = BertModel(config)
    # BERT's own initialisation (std 0.02) makes every input look alike;
    # spread the weights as bgetest does so the check has teeth.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "word_embeddings" in name:
                p.copy_(0.5 * torch.randn_like(p))
            elif "embeddings" in name:
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[1]))
    model.eval()
    model.save_pretrained(OUT, safe_serialization=True)

    with open(os.path.join(OUT, "modules.json"), "w") as f:
        json.dump([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ], f, indent=2)
    with open(os.path.join(OUT, "1_Pooling", "config.json"), "w") as f:
        json.dump({
            "word_embedding_dimension": 32,
            "pooling_mode_cls_token": True,
            "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        }, f, indent=2)

    enc = tok(TEXTS, padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state.double()
    mask = enc["attention_mask"].unsqueeze(-1).double()
    cls = torch.nn.functional.normalize(hidden[:, 0], dim=-1)
    mean = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    cases = []
    for i, text in enumerate(TEXTS):
        n = int(enc["attention_mask"][i].sum())
        cases.append({
            "text": text,
            "ids": enc["input_ids"][i][:n].tolist(),
            "cls": cls[i].tolist(),
            "mean": mean[i].tolist(),
        })
    import transformers
    golden = {
        "model_dir": "golden",
        "max_length": MAX_LEN,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "cases": cases,
    }
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
