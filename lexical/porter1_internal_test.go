package lexical

import (
	"testing"
	"unicode/utf8"
)

func TestPorter1(t *testing.T) {
	// The examples of Porter's paper and of his reference implementation's
	// comments, and the two departures Lucene shares (-bli, -logi).
	cases := map[string]string{
		"caresses": "caress", "ponies": "poni", "ties": "ti", "caress": "caress", "cats": "cat",
		"feed": "feed", "agreed": "agre", "plastered": "plaster", "bled": "bled", "motoring": "motor",
		"sing": "sing", "conflated": "conflat", "troubled": "troubl", "sized": "size", "hopping": "hop",
		"tanned": "tan", "falling": "fall", "hissing": "hiss", "fizzed": "fizz", "failing": "fail",
		"filing": "file", "happy": "happi", "sky": "sky", "relational": "relat", "conditional": "condit",
		"rational": "ration", "valenci": "valenc", "hesitanci": "hesit", "digitizer": "digit",
		"conformabli": "conform", "radicalli": "radic", "differentli": "differ", "vileli": "vile",
		"analogousli": "analog", "vietnamization": "vietnam", "predication": "predic", "operator": "oper",
		"feudalism": "feudal", "decisiveness": "decis", "hopefulness": "hope", "callousness": "callous",
		"formaliti": "formal", "sensitiviti": "sensit", "sensibiliti": "sensibl", "triplicate": "triplic",
		"formative": "form", "formalize": "formal", "electriciti": "electr", "electrical": "electr",
		"hopeful": "hope", "goodness": "good", "revival": "reviv", "allowance": "allow", "inference": "infer",
		"airliner": "airlin", "gyroscopic": "gyroscop", "adjustable": "adjust", "defensible": "defens",
		"irritant": "irrit", "replacement": "replac", "adjustment": "adjust", "dependent": "depend",
		"adoption": "adopt", "homologou": "homolog", "communism": "commun", "activate": "activ",
		"angulariti": "angular", "homologous": "homolog", "effective": "effect", "bowdlerize": "bowdler",
		"probate": "probat", "rate": "rate", "cease": "ceas", "controll": "control", "roll": "roll",
		"generalizations": "gener", "oscillators": "oscil", "meetings": "meet", "messing": "mess",
		"milling": "mill", "mating": "mate", "matting": "mat", "disabled": "disabl",
		"archaeology": "archaeolog", "possibly": "possibl", "is": "is", "a": "a", "running": "run",
		"proteins": "protein", "cells": "cell", "cellular": "cellular", "diabetes": "diabet",
	}
	for in, want := range cases {
		b := []byte(in)
		got := string(b[:porterStem(b)])
		if got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPorter1KeepsUTF8(t *testing.T) {
	// Non-ASCII bytes are consonants that never double, so no rule cuts a
	// multi-byte character.
	for _, in := range []string{"ぁぁing", "café", "naïveness", "\u2222\u2222ed", "ééés", "ãing"} {
		b := []byte(in)
		got := b[:porterStem(b)]
		if !utf8.Valid(got) {
			t.Errorf("stem(%q) = %q, not valid UTF-8", in, got)
		}
	}
}
