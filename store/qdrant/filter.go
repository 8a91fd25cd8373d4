package qdrant

import (
	"context"
	"maps"
	"slices"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
)

// metadataPath is where a metadata key lives in a chunk's payload. ragd's
// filter keys (letters, digits, '_' and '-') need no quoting in Qdrant's
// JSON paths.
func metadataPath(key string) string { return keyMetadata + "." + key }

// translateFilter turns a ragd filter into a Qdrant condition over chunk
// metadata, and notes the type of every key it uses (for payload indexes).
// Semantics match ragd.Filter.Match: a condition on an array matches when
// any element does (as in Qdrant), numbers compare as float64 (metadata
// numbers are stored as doubles, and a number condition is a closed range
// [v, v]), and a missing key never matches.
func translateFilter(f *ragd.Filter, keys map[string]qdrant.FieldType) (*qdrant.Condition, error) {
	switch f.Op {
	case ragd.OpAnd, ragd.OpOr:
		conds := make([]*qdrant.Condition, 0, len(f.Children))
		for i := range f.Children {
			c, err := translateFilter(&f.Children[i], keys)
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
		}
		if f.Op == ragd.OpAnd {
			return qdrant.NewFilterAsCondition(&qdrant.Filter{Must: conds}), nil
		}
		return qdrant.NewFilterAsCondition(&qdrant.Filter{Should: conds}), nil
	case ragd.OpEq, ragd.OpIn:
		if len(f.Values) == 0 {
			return nil, ragd.Errorf(ragd.EInvalid, "filter on %q has no values", f.Key)
		}
		path := metadataPath(f.Key)
		var strs []string
		var conds []*qdrant.Condition
		for _, v := range f.Values {
			switch x := v.(type) {
			case string:
				strs = append(strs, x)
				noteKey(keys, path, qdrant.FieldType_FieldTypeKeyword)
			case bool:
				conds = append(conds, qdrant.NewMatchBool(path, x))
				noteKey(keys, path, qdrant.FieldType_FieldTypeBool)
			case float64:
				conds = append(conds, qdrant.NewRange(path, &qdrant.Range{Gte: qdrant.PtrOf(x), Lte: qdrant.PtrOf(x)}))
				noteKey(keys, path, qdrant.FieldType_FieldTypeFloat)
			default:
				return nil, ragd.Errorf(ragd.EInvalid, "filter value for %q must be a string, number or boolean", f.Key)
			}
		}
		switch len(strs) {
		case 0:
		case 1:
			conds = append(conds, qdrant.NewMatchKeyword(path, strs[0]))
		default:
			conds = append(conds, qdrant.NewMatchKeywords(path, strs...))
		}
		if len(conds) == 1 {
			return conds[0], nil
		}
		return qdrant.NewFilterAsCondition(&qdrant.Filter{Should: conds}), nil
	}
	return nil, ragd.Errorf(ragd.EInvalid, "filter operator %q is not supported", f.Op)
}

func noteKey(keys map[string]qdrant.FieldType, path string, typ qdrant.FieldType) {
	if _, ok := keys[path]; !ok {
		keys[path] = typ
	}
}

// indexFilterKeys makes sure the metadata keys a filter uses have payload
// indexes: the first time a key is filtered on, an index of the type of the
// value it was compared with is requested without waiting for it (Qdrant
// filters unindexed keys correctly, only slower, until it is built). At most
// Options.MaxMetadataIndexes keys per collection get one.
func (s *Store) indexFilterKeys(ctx context.Context, info *collectionInfo, keys map[string]qdrant.FieldType) error {
	if s.opts.MaxMetadataIndexes < 0 {
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		info.mu.Lock()
		done := info.indexed[key]
		n := 0
		for k := range info.indexed {
			if _, base := baseIndexes[k]; !base {
				n++
			}
		}
		info.mu.Unlock()
		if done || n >= s.opts.MaxMetadataIndexes {
			continue
		}
		if err := s.createIndex(ctx, info, key, keys[key], false); err != nil {
			return err
		}
	}
	return nil
}
