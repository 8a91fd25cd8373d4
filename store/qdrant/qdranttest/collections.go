package qdranttest

import (
	"context"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type collectionsService struct {
	qdrant.UnimplementedCollectionsServer
	st *state
}

func validateCollectionName(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "<>:\"/\\|?*\x00\x1f") || name == "." || name == ".." {
		return status.Errorf(codes.InvalidArgument, "Validation error in body: [collection_name: collection name %q is invalid]", name)
	}
	return nil
}

func (s *collectionsService) Create(_ context.Context, req *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	start := time.Now()
	name := req.GetCollectionName()
	if err := validateCollectionName(name); err != nil {
		return nil, err
	}
	c := &collection{
		name:      name,
		createdAt: time.Now(),
		dense:     map[string]denseParams{},
		sparse:    map[string]qdrant.Modifier{},
		metadata:  clonePayload(req.GetMetadata()),
		indexes:   map[string]qdrant.PayloadSchemaType{},
		points:    map[pointKey]*point{},
	}
	addDense := func(vname string, p *qdrant.VectorParams) error {
		if p.GetSize() == 0 {
			return status.Error(codes.InvalidArgument, "Validation error in body: [vectors_config.size: value 0 invalid, must be 1 or larger]")
		}
		switch p.GetDistance() {
		case qdrant.Distance_Cosine, qdrant.Distance_Dot:
		case qdrant.Distance_UnknownDistance:
			return badInput("Distance is not specified")
		default:
			return unimplemented("distance %s is not supported", p.GetDistance())
		}
		if p.MultivectorConfig != nil {
			return unimplemented("multivectors are not supported")
		}
		c.dense[vname] = denseParams{size: int(p.GetSize()), distance: p.GetDistance()}
		return nil
	}
	switch cfg := req.GetVectorsConfig().GetConfig().(type) {
	case nil:
	case *qdrant.VectorsConfig_Params:
		if err := addDense("", cfg.Params); err != nil {
			return nil, err
		}
	case *qdrant.VectorsConfig_ParamsMap:
		for vname, p := range cfg.ParamsMap.GetMap() {
			if err := addDense(vname, p); err != nil {
				return nil, err
			}
		}
	}
	for vname, p := range req.GetSparseVectorsConfig().GetMap() {
		if _, dup := c.dense[vname]; dup {
			return nil, badInput("Vector name " + vname + " is used for both dense and sparse vectors")
		}
		c.sparse[vname] = p.GetModifier()
	}

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if _, exists := s.st.collections[name]; exists {
		return nil, status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", name)
	}
	s.st.collections[name] = c
	return &qdrant.CollectionOperationResponse{Result: true, Time: time.Since(start).Seconds()}, nil
}

func (s *collectionsService) Get(_ context.Context, req *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	start := time.Now()
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c, err := s.st.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	params := &qdrant.CollectionParams{ShardNumber: 1, ReplicationFactor: qdrant.PtrOf(uint32(1)), WriteConsistencyFactor: qdrant.PtrOf(uint32(1))}
	if len(c.dense) > 0 {
		m := map[string]*qdrant.VectorParams{}
		for vname, p := range c.dense {
			m[vname] = &qdrant.VectorParams{Size: uint64(p.size), Distance: p.distance}
		}
		if p, ok := m[""]; ok && len(m) == 1 {
			params.VectorsConfig = qdrant.NewVectorsConfig(p)
		} else {
			params.VectorsConfig = qdrant.NewVectorsConfigMap(m)
		}
	}
	if len(c.sparse) > 0 {
		m := map[string]*qdrant.SparseVectorParams{}
		for vname, mod := range c.sparse {
			m[vname] = &qdrant.SparseVectorParams{Modifier: mod.Enum()}
		}
		params.SparseVectorsConfig = qdrant.NewSparseVectorsConfig(m)
	}
	schema := map[string]*qdrant.PayloadSchemaInfo{}
	for key, typ := range c.indexes {
		var n uint64
		for _, p := range c.points {
			if len(valuesAt(p.payload, key)) > 0 {
				n++
			}
		}
		schema[key] = &qdrant.PayloadSchemaInfo{DataType: typ, Points: qdrant.PtrOf(n)}
	}
	var vectors uint64
	for _, p := range c.points {
		vectors += uint64(len(p.dense))
	}
	info := &qdrant.CollectionInfo{
		Status:              qdrant.CollectionStatus_Green,
		OptimizerStatus:     &qdrant.OptimizerStatus{Ok: true},
		SegmentsCount:       1,
		Config:              &qdrant.CollectionConfig{Params: params, Metadata: clonePayload(c.metadata)},
		PayloadSchema:       schema,
		PointsCount:         qdrant.PtrOf(uint64(len(c.points))),
		IndexedVectorsCount: qdrant.PtrOf(vectors),
	}
	return &qdrant.GetCollectionInfoResponse{Result: info, Time: time.Since(start).Seconds()}, nil
}

func (s *collectionsService) List(context.Context, *qdrant.ListCollectionsRequest) (*qdrant.ListCollectionsResponse, error) {
	start := time.Now()
	names := s.st.collectionNames()
	resp := &qdrant.ListCollectionsResponse{}
	for _, n := range names {
		resp.Collections = append(resp.Collections, &qdrant.CollectionDescription{Name: n})
	}
	resp.Time = time.Since(start).Seconds()
	return resp, nil
}

func (s *collectionsService) CollectionExists(_ context.Context, req *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	s.st.mu.RLock()
	_, ok := s.st.collections[req.GetCollectionName()]
	s.st.mu.RUnlock()
	return &qdrant.CollectionExistsResponse{Result: &qdrant.CollectionExists{Exists: ok}}, nil
}

// Delete removes a collection. Like Qdrant, deleting a collection that does
// not exist is not an error: the result is false.
func (s *collectionsService) Delete(_ context.Context, req *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	start := time.Now()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	_, ok := s.st.collections[req.GetCollectionName()]
	delete(s.st.collections, req.GetCollectionName())
	return &qdrant.CollectionOperationResponse{Result: ok, Time: time.Since(start).Seconds()}, nil
}
