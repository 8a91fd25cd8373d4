package qdranttest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
)

type pointsService struct {
	qdrant.UnimplementedPointsServer
	st *state
}

func (s *pointsService) updateResult(start time.Time, wait bool) *qdrant.PointsOperationResponse {
	st := qdrant.UpdateStatus_Acknowledged
	if wait {
		st = qdrant.UpdateStatus_Completed
	}
	return &qdrant.PointsOperationResponse{
		Result: &qdrant.UpdateResult{OperationId: qdrant.PtrOf(s.st.opID), Status: st},
		Time:   time.Since(start).Seconds(),
	}
}

// parseVectors validates a point's vectors against the collection's
// configuration.
func (c *collection) parseVectors(vs *qdrant.Vectors) (map[string][]float32, map[string]sparseVec, error) {
	named := map[string]*qdrant.Vector{}
	switch v := vs.GetVectorsOptions().(type) {
	case nil:
	case *qdrant.Vectors_Vector:
		named[""] = v.Vector
	case *qdrant.Vectors_Vectors:
		named = v.Vectors.GetVectors()
	}
	dense := map[string][]float32{}
	sparse := map[string]sparseVec{}
	for name, vec := range named {
		if params, ok := c.dense[name]; ok {
			data := vec.GetDense().GetData()
			if vec.GetDense() == nil {
				if vec.GetSparse() != nil || vec.Indices != nil {
					return nil, nil, badInput("Conversion between sparse and regular vectors failed")
				}
				data = vec.Data //nolint:staticcheck // the deprecated form is still accepted by Qdrant
			}
			if len(data) != params.size {
				return nil, nil, dimensionError(params.size, len(data))
			}
			if params.distance == qdrant.Distance_Cosine {
				data = preprocessCosine(data)
			} else {
				data = slices.Clone(data)
			}
			dense[name] = data
			continue
		}
		if _, ok := c.sparse[name]; ok {
			var indices []uint32
			var values []float32
			switch {
			case vec.GetSparse() != nil:
				indices, values = vec.GetSparse().GetIndices(), vec.GetSparse().GetValues()
			case vec.Indices != nil: //nolint:staticcheck // deprecated form
				indices, values = vec.Indices.GetData(), vec.Data //nolint:staticcheck // deprecated form
			default:
				return nil, nil, badInput("Conversion between sparse and regular vectors failed")
			}
			sv, err := newSparse(indices, values)
			if err != nil {
				return nil, nil, err
			}
			sparse[name] = sv
			continue
		}
		return nil, nil, badInput("Not existing vector name error: " + name)
	}
	if _, ok := c.dense[""]; ok {
		if _, given := dense[""]; !given {
			return nil, nil, badInput("Not existing vector name error: ")
		}
	}
	return dense, sparse, nil
}

func newSparse(indices []uint32, values []float32) (sparseVec, error) {
	if len(indices) != len(values) {
		return sparseVec{}, badInput(fmt.Sprintf("Sparse vector indices and values must have the same length, got %d indices and %d values", len(indices), len(values)))
	}
	order := make([]int, len(indices))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(int64(indices[a]) - int64(indices[b])) })
	sv := sparseVec{indices: make([]uint32, len(indices)), values: make([]float32, len(values))}
	for i, j := range order {
		sv.indices[i], sv.values[i] = indices[j], values[j]
		if i > 0 && sv.indices[i] == sv.indices[i-1] {
			return sparseVec{}, badInput("Sparse vector indices must be unique")
		}
	}
	return sv, nil
}

func (s *pointsService) Upsert(_ context.Context, req *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	parsed := make([]*point, 0, len(req.GetPoints()))
	for _, ps := range req.GetPoints() {
		k, err := keyOf(ps.GetId())
		if err != nil {
			return nil, err
		}
		dense, sparse, err := c.parseVectors(ps.GetVectors())
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, &point{key: k, payload: clonePayload(ps.GetPayload()), dense: dense, sparse: sparse})
	}
	// Decide every point first so that a failing condition applies nothing.
	mode := req.GetUpdateMode()
	var apply []*point
	for _, p := range parsed {
		old, exists := c.points[p.key]
		switch {
		case exists && mode == qdrant.UpdateMode_InsertOnly:
			continue
		case !exists && mode == qdrant.UpdateMode_UpdateOnly:
			continue
		case exists && req.UpdateFilter != nil:
			ok, err := matches(req.GetUpdateFilter(), old)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		apply = append(apply, p)
	}
	s.st.opID++
	for _, p := range apply {
		p.version = s.st.opID
		c.points[p.key] = p
	}
	return s.updateResult(start, req.GetWait()), nil
}

// selectPoints returns the keys of the points a selector names.
func (c *collection) selectPoints(sel *qdrant.PointsSelector) ([]pointKey, error) {
	switch v := sel.GetPointsSelectorOneOf().(type) {
	case *qdrant.PointsSelector_Points:
		var keys []pointKey
		for _, id := range v.Points.GetIds() {
			k, err := keyOf(id)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		return keys, nil
	case *qdrant.PointsSelector_Filter:
		pts, err := filterPoints(maps.Values(c.points), v.Filter)
		if err != nil {
			return nil, err
		}
		keys := make([]pointKey, len(pts))
		for i, p := range pts {
			keys[i] = p.key
		}
		return keys, nil
	}
	return nil, badInput("Points selector is not specified")
}

func (s *pointsService) Delete(_ context.Context, req *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	keys, err := c.selectPoints(req.GetPoints())
	if err != nil {
		return nil, err
	}
	s.st.opID++
	for _, k := range keys {
		delete(c.points, k)
	}
	return s.updateResult(start, req.GetWait()), nil
}

// payloadOf applies a payload selector. Qdrant's default is given by def.
func payloadOf(p *point, sel *qdrant.WithPayloadSelector, def bool) (map[string]*qdrant.Value, error) {
	switch v := sel.GetSelectorOptions().(type) {
	case nil:
		if def {
			return clonePayload(p.payload), nil
		}
		return nil, nil
	case *qdrant.WithPayloadSelector_Enable:
		if v.Enable {
			return clonePayload(p.payload), nil
		}
		return nil, nil
	case *qdrant.WithPayloadSelector_Include:
		out := map[string]*qdrant.Value{}
		for _, f := range v.Include.GetFields() {
			if strings.ContainsAny(f, ".[\"") {
				return nil, unimplemented("payload selectors with nested paths are not supported")
			}
			if val, ok := p.payload[f]; ok {
				out[f] = cloneValue(val)
			}
		}
		return out, nil
	case *qdrant.WithPayloadSelector_Exclude:
		out := clonePayload(p.payload)
		for _, f := range v.Exclude.GetFields() {
			if strings.ContainsAny(f, ".[") {
				return nil, unimplemented("payload selectors with nested paths are not supported")
			}
			delete(out, f)
		}
		return out, nil
	}
	return nil, unimplemented("payload selector %T is not supported", sel.GetSelectorOptions())
}

// vectorsOf applies a vectors selector; the default is no vectors.
func (c *collection) vectorsOf(p *point, sel *qdrant.WithVectorsSelector) *qdrant.VectorsOutput {
	include := func(string) bool { return false }
	switch v := sel.GetSelectorOptions().(type) {
	case *qdrant.WithVectorsSelector_Enable:
		include = func(string) bool { return v.Enable }
	case *qdrant.WithVectorsSelector_Include:
		include = func(name string) bool { return slices.Contains(v.Include.GetNames(), name) }
	}
	out := map[string]*qdrant.VectorOutput{}
	for name, d := range p.dense {
		if include(name) {
			out[name] = &qdrant.VectorOutput{
				Data:   slices.Clone(d), //nolint:staticcheck // filled for older clients, as Qdrant does
				Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: slices.Clone(d)}},
			}
		}
	}
	for name, sv := range p.sparse {
		if include(name) {
			out[name] = &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Sparse{Sparse: &qdrant.SparseVector{
				Indices: slices.Clone(sv.indices), Values: slices.Clone(sv.values),
			}}}
		}
	}
	if len(out) == 0 {
		return nil
	}
	if v, ok := out[""]; ok && len(c.dense) == 1 && len(c.sparse) == 0 {
		return &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: v}}
	}
	return &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vectors{Vectors: &qdrant.NamedVectorsOutput{Vectors: out}}}
}

func (c *collection) retrieved(p *point, ps *qdrant.WithPayloadSelector, vs *qdrant.WithVectorsSelector) (*qdrant.RetrievedPoint, error) {
	payload, err := payloadOf(p, ps, true)
	if err != nil {
		return nil, err
	}
	return &qdrant.RetrievedPoint{Id: p.key.id(), Payload: payload, Vectors: c.vectorsOf(p, vs)}, nil
}

func (s *pointsService) Get(_ context.Context, req *qdrant.GetPoints) (*qdrant.GetResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	resp := &qdrant.GetResponse{}
	seen := map[pointKey]bool{}
	for _, id := range req.GetIds() {
		k, err := keyOf(id)
		if err != nil {
			return nil, err
		}
		p, ok := c.points[k]
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		rp, err := c.retrieved(p, req.GetWithPayload(), req.GetWithVectors())
		if err != nil {
			return nil, err
		}
		resp.Result = append(resp.Result, rp)
	}
	resp.Time = time.Since(start).Seconds()
	return resp, nil
}

func (s *pointsService) Count(_ context.Context, req *qdrant.CountPoints) (*qdrant.CountResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	pts, err := filterPoints(maps.Values(c.points), req.GetFilter())
	if err != nil {
		return nil, err
	}
	return &qdrant.CountResponse{Result: &qdrant.CountResult{Count: uint64(len(pts))}, Time: time.Since(start).Seconds()}, nil
}

func (s *pointsService) Scroll(_ context.Context, req *qdrant.ScrollPoints) (*qdrant.ScrollResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	limit := 10
	if req.Limit != nil {
		limit = int(req.GetLimit())
	}
	if req.OrderBy != nil {
		return c.scrollOrdered(req, limit, start)
	}
	var from *pointKey
	if req.Offset != nil {
		k, err := keyOf(req.GetOffset())
		if err != nil {
			return nil, err
		}
		from = &k
	}
	resp := &qdrant.ScrollResponse{}
	for _, p := range c.sortedPoints() {
		if from != nil && p.key.compare(*from) < 0 {
			continue
		}
		ok, err := matches(req.GetFilter(), p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if len(resp.Result) == limit {
			resp.NextPageOffset = p.key.id()
			break
		}
		rp, err := c.retrieved(p, req.GetWithPayload(), req.GetWithVectors())
		if err != nil {
			return nil, err
		}
		resp.Result = append(resp.Result, rp)
	}
	resp.Time = time.Since(start).Seconds()
	return resp, nil
}

// scrollOrdered serves a scroll with order_by: points ordered by a payload
// key that has a range index, starting from start_from. Qdrant allows no
// offset with order_by and returns no next page offset.
func (c *collection) scrollOrdered(req *qdrant.ScrollPoints, limit int, start time.Time) (*qdrant.ScrollResponse, error) {
	ob := req.GetOrderBy()
	if req.Offset != nil {
		return nil, badInput("Cannot use an `offset` when using `order_by`. The alternative for paging is to use `order_by.start_from` and a filter to exclude the IDs that you've already seen for the `order_by.start_from` value")
	}
	typ, ok := c.indexes[ob.GetKey()]
	if !ok || (typ != qdrant.PayloadSchemaType_Integer && typ != qdrant.PayloadSchemaType_Float) {
		if typ == qdrant.PayloadSchemaType_Datetime {
			return nil, unimplemented("order_by on datetime keys is not supported")
		}
		return nil, badRequest(fmt.Sprintf("No range index for `order_by` key: %s. Please create one to use `order_by`. Integer, float, and datetime payloads can have range indexes, see https://qdrant.tech/documentation/concepts/indexing/#payload-index.", ob.GetKey()))
	}
	desc := ob.GetDirection() == qdrant.Direction_Desc
	type entry struct {
		p     *point
		i     int64
		f     float64
		isInt bool
	}
	pts, err := filterPoints(maps.Values(c.points), req.GetFilter())
	if err != nil {
		return nil, err
	}
	var entries []entry
	for _, p := range pts {
		for _, v := range valuesAt(p.payload, ob.GetKey()) {
			switch n := v.GetKind().(type) {
			case *qdrant.Value_IntegerValue:
				entries = append(entries, entry{p: p, i: n.IntegerValue, f: float64(n.IntegerValue), isInt: typ == qdrant.PayloadSchemaType_Integer})
			case *qdrant.Value_DoubleValue:
				if typ == qdrant.PayloadSchemaType_Float {
					entries = append(entries, entry{p: p, f: n.DoubleValue})
				}
			}
		}
	}
	order := func(a, b entry) int {
		var r int
		if a.isInt && b.isInt {
			r = cmp.Compare(a.i, b.i)
		} else {
			r = cmp.Compare(a.f, b.f)
		}
		if desc {
			r = -r
		}
		if r == 0 {
			r = a.p.key.compare(b.p.key)
		}
		return r
	}
	slices.SortFunc(entries, order)
	if sf := ob.GetStartFrom(); sf != nil {
		var kept []entry
		for _, e := range entries {
			var r int
			switch v := sf.GetValue().(type) {
			case *qdrant.StartFrom_Integer:
				if e.isInt {
					r = cmp.Compare(e.i, v.Integer)
				} else {
					r = cmp.Compare(e.f, float64(v.Integer))
				}
			case *qdrant.StartFrom_Float:
				r = cmp.Compare(e.f, v.Float)
			default:
				return nil, unimplemented("start_from %T is not supported", sf.GetValue())
			}
			if (!desc && r >= 0) || (desc && r <= 0) {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	resp := &qdrant.ScrollResponse{}
	for _, e := range entries {
		if len(resp.Result) == limit {
			break
		}
		rp, err := c.retrieved(e.p, req.GetWithPayload(), req.GetWithVectors())
		if err != nil {
			return nil, err
		}
		if e.isInt {
			rp.OrderValue = qdrant.NewOrderValueInt(e.i)
		} else {
			rp.OrderValue = qdrant.NewOrderValueFloat(e.f)
		}
		resp.Result = append(resp.Result, rp)
	}
	resp.Time = time.Since(start).Seconds()
	return resp, nil
}

var fieldTypes = map[qdrant.FieldType]qdrant.PayloadSchemaType{
	qdrant.FieldType_FieldTypeKeyword:  qdrant.PayloadSchemaType_Keyword,
	qdrant.FieldType_FieldTypeInteger:  qdrant.PayloadSchemaType_Integer,
	qdrant.FieldType_FieldTypeFloat:    qdrant.PayloadSchemaType_Float,
	qdrant.FieldType_FieldTypeGeo:      qdrant.PayloadSchemaType_Geo,
	qdrant.FieldType_FieldTypeText:     qdrant.PayloadSchemaType_Text,
	qdrant.FieldType_FieldTypeBool:     qdrant.PayloadSchemaType_Bool,
	qdrant.FieldType_FieldTypeDatetime: qdrant.PayloadSchemaType_Datetime,
	qdrant.FieldType_FieldTypeUuid:     qdrant.PayloadSchemaType_Uuid,
}

func (s *pointsService) CreateFieldIndex(_ context.Context, req *qdrant.CreateFieldIndexCollection) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.FieldType == nil {
		return nil, badRequest("Field type is required to create a payload index")
	}
	typ, ok := fieldTypes[req.GetFieldType()]
	if !ok {
		return nil, badInput(fmt.Sprintf("unknown field type %d", req.GetFieldType()))
	}
	if _, ok := parsePath(req.GetFieldName()); !ok {
		return nil, badInput(fmt.Sprintf("Invalid payload key %q", req.GetFieldName()))
	}
	s.st.opID++
	c.indexes[req.GetFieldName()] = typ
	return s.updateResult(start, req.GetWait()), nil
}

func (s *pointsService) DeleteFieldIndex(_ context.Context, req *qdrant.DeleteFieldIndexCollection) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	s.st.opID++
	delete(c.indexes, req.GetFieldName())
	return s.updateResult(start, req.GetWait()), nil
}

// Facet counts, for each value of a payload key, the points matching the
// filter that have it (each point once per distinct value), most frequent
// first. Like Qdrant it needs a keyword, integer, bool or uuid index on the
// key.
func (s *pointsService) Facet(_ context.Context, req *qdrant.FacetCounts) (*qdrant.FacetResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	key := req.GetKey()
	typ, ok := c.indexes[key]
	switch {
	case ok && (typ == qdrant.PayloadSchemaType_Keyword || typ == qdrant.PayloadSchemaType_Integer || typ == qdrant.PayloadSchemaType_Bool):
	case ok && typ == qdrant.PayloadSchemaType_Uuid:
		return nil, unimplemented("facets on uuid keys are not supported")
	default:
		return nil, badInput(fmt.Sprintf("No appropriate index for faceting: `%s`. Please create one to facet on this field. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Match conditions", key))
	}
	type facetKey struct {
		s string
		i int64
		b bool
	}
	pts, err := filterPoints(maps.Values(c.points), req.GetFilter())
	if err != nil {
		return nil, err
	}
	counts := map[facetKey]uint64{}
	for _, p := range pts {
		seen := map[facetKey]bool{}
		for _, v := range valuesAt(p.payload, key) {
			var fk facetKey
			switch x := v.GetKind().(type) {
			case *qdrant.Value_StringValue:
				if typ != qdrant.PayloadSchemaType_Keyword {
					continue
				}
				fk.s = x.StringValue
			case *qdrant.Value_IntegerValue:
				if typ != qdrant.PayloadSchemaType_Integer {
					continue
				}
				fk.i = x.IntegerValue
			case *qdrant.Value_BoolValue:
				if typ != qdrant.PayloadSchemaType_Bool {
					continue
				}
				fk.b = x.BoolValue
			default:
				continue
			}
			if !seen[fk] {
				seen[fk] = true
				counts[fk]++
			}
		}
	}
	keys := make([]facetKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b facetKey) int {
		if counts[a] != counts[b] {
			return cmp.Compare(counts[b], counts[a])
		}
		if r := strings.Compare(a.s, b.s); r != 0 {
			return r
		}
		if r := cmp.Compare(a.i, b.i); r != 0 {
			return r
		}
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	})
	limit := 10
	if req.Limit != nil {
		limit = int(req.GetLimit())
	}
	resp := &qdrant.FacetResponse{}
	for _, k := range keys[:min(limit, len(keys))] {
		var v *qdrant.FacetValue
		switch typ {
		case qdrant.PayloadSchemaType_Keyword:
			v = &qdrant.FacetValue{Variant: &qdrant.FacetValue_StringValue{StringValue: k.s}}
		case qdrant.PayloadSchemaType_Integer:
			v = &qdrant.FacetValue{Variant: &qdrant.FacetValue_IntegerValue{IntegerValue: k.i}}
		default:
			v = &qdrant.FacetValue{Variant: &qdrant.FacetValue_BoolValue{BoolValue: k.b}}
		}
		resp.Hits = append(resp.Hits, &qdrant.FacetHit{Value: v, Count: counts[k]})
	}
	resp.Time = time.Since(start).Seconds()
	return resp, nil
}
