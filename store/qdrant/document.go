package qdrant

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qdrant/go-client/qdrant"
	"github.com/ragd/ragd"
)

// record is a document record: the catalog entry naming a document's
// current version.
type record struct {
	version string
	doc     ragd.Document
}

// readRecord reads a document's record. found is false when the document
// does not exist.
func (s *Store) readRecord(ctx context.Context, info *collectionInfo, id string, fields []string) (rec record, found bool, err error) {
	recs, err := s.readRecords(ctx, info, []string{id}, fields)
	if err != nil {
		return record{}, false, err
	}
	rec, found = recs[id]
	return rec, found, nil
}

// readRecords reads the records of the given documents; missing documents
// are absent from the map.
func (s *Store) readRecords(ctx context.Context, info *collectionInfo, ids []string, fields []string) (map[string]record, error) {
	out := make(map[string]record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pids := make([]*qdrant.PointId, len(ids))
	for i, id := range ids {
		pids[i] = docPointID(id)
	}
	if fields != nil {
		fields = append(slices.Clip(fields), keyKind, keyDocID, keyVersion)
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.points.Get(cctx, &qdrant.GetPoints{
		CollectionName: info.physical,
		Ids:            pids,
		WithPayload:    payloadSelector(fields),
		WithVectors:    qdrant.NewWithVectors(false),
	})
	if err != nil {
		return nil, s.fail(ctx, info, err, "get document records")
	}
	for _, p := range resp.GetResult() {
		pl := p.GetPayload()
		if strPayload(pl, keyKind) != kindDoc {
			continue
		}
		id := strPayload(pl, keyDocID)
		out[id] = record{version: strPayload(pl, keyVersion), doc: docFromPayload(info.c.Name, pl)}
	}
	return out, nil
}

func docFromPayload(collection string, pl map[string]*qdrant.Value) ragd.Document {
	return ragd.Document{
		ID:          strPayload(pl, keyDocID),
		Collection:  collection,
		Title:       strPayload(pl, keyTitle),
		Source:      strPayload(pl, keySource),
		ContentType: strPayload(pl, keyContentType),
		Metadata:    metadataPayload(pl, keyMetadata),
		ContentHash: strPayload(pl, keyContentHash),
		Embedder:    strPayload(pl, keyEmbedder),
		ChunkCount:  int(intPayload(pl, keyChunkCount)),
		Bytes:       int(intPayload(pl, keyBytes)),
		CreatedAt:   timePayload(pl, keyCreatedAt),
		UpdatedAt:   timePayload(pl, keyUpdatedAt),
	}
}

func recordPoint(c string, doc ragd.Document, version string) *qdrant.PointStruct {
	return &qdrant.PointStruct{
		Id:      docPointID(doc.ID),
		Vectors: qdrant.NewVectorsMap(map[string]*qdrant.Vector{}),
		Payload: map[string]*qdrant.Value{
			keyKind:        qdrant.NewValueString(kindDoc),
			keyCollection:  qdrant.NewValueString(c),
			keyDocID:       qdrant.NewValueString(doc.ID),
			keyVersion:     qdrant.NewValueString(version),
			keyTitle:       qdrant.NewValueString(doc.Title),
			keySource:      qdrant.NewValueString(doc.Source),
			keyContentType: qdrant.NewValueString(doc.ContentType),
			keyMetadata:    metadataValue(doc.Metadata),
			keyContentHash: qdrant.NewValueString(doc.ContentHash),
			keyEmbedder:    qdrant.NewValueString(doc.Embedder),
			keyChunkCount:  qdrant.NewValueInt(int64(doc.ChunkCount)),
			keyBytes:       qdrant.NewValueInt(int64(doc.Bytes)),
			keyCreatedAt:   qdrant.NewValueString(formatTime(doc.CreatedAt)),
			keyUpdatedAt:   qdrant.NewValueString(formatTime(doc.UpdatedAt)),
			keySortKey:     qdrant.NewValueInt(sortKey(doc.ID)),
		},
	}
}

func intentPoint(docID, op, newV, oldV string, started time.Time) *qdrant.PointStruct {
	return &qdrant.PointStruct{
		Id:      intentPointID(docID, op, firstNonEmpty(newV, oldV)),
		Vectors: qdrant.NewVectorsMap(map[string]*qdrant.Vector{}),
		Payload: map[string]*qdrant.Value{
			keyKind:       qdrant.NewValueString(kindIntent),
			keyDocID:      qdrant.NewValueString(docID),
			keyOp:         qdrant.NewValueString(op),
			keyNewVersion: qdrant.NewValueString(newV),
			keyOldVersion: qdrant.NewValueString(oldV),
			keyStartedMS:  qdrant.NewValueInt(started.UnixMilli()),
		},
	}
}

func checkDimensions(info *collectionInfo, chunks []ragd.Chunk) error {
	for _, ch := range chunks {
		if ch.Vector == nil {
			continue
		}
		if info.c.Dimension == 0 {
			return ragd.Errorf(ragd.EInvalid, "collection %q stores no vectors, but chunk %d has one", info.c.Name, ch.Index)
		}
		if len(ch.Vector) != info.c.Dimension {
			return ragd.Errorf(ragd.EInvalid, "chunk %d has a %d-dimensional vector; collection %q uses %d dimensions", ch.Index, len(ch.Vector), info.c.Name, info.c.Dimension)
		}
	}
	return nil
}

// validateUTF8 rejects strings Qdrant's gRPC API cannot carry.
func validateUTF8(doc ragd.Document, chunks []ragd.Chunk) error {
	bad := func(field string) error {
		return ragd.Errorf(ragd.EInvalid, "document %s is not valid UTF-8", field)
	}
	for field, v := range map[string]string{"id": doc.ID, "title": doc.Title, "source": doc.Source, "content type": doc.ContentType, "content hash": doc.ContentHash, "embedder": doc.Embedder} {
		if !utf8.ValidString(v) {
			return bad(field)
		}
	}
	if !validMetadata(doc.Metadata) {
		return bad("metadata")
	}
	for _, ch := range chunks {
		ok := utf8.ValidString(ch.ID) && utf8.ValidString(ch.Text) && utf8.ValidString(ch.Hash) && validMetadata(ch.Metadata)
		for _, h := range ch.Headings {
			ok = ok && utf8.ValidString(h)
		}
		if !ok {
			return bad(fmt.Sprintf("chunk %d", ch.Index))
		}
	}
	return nil
}

func validMetadata(v any) bool {
	switch x := v.(type) {
	case string:
		return utf8.ValidString(x)
	case []any:
		for _, e := range x {
			if !validMetadata(e) {
				return false
			}
		}
	case []string:
		for _, e := range x {
			if !utf8.ValidString(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !validMetadata(e) {
				return false
			}
		}
	}
	return true
}

func errTooSlow(elapsed time.Duration) error {
	return fmt.Errorf("qdrant: document write took %s before switching versions; giving up so the sweep cannot race it", elapsed.Round(time.Millisecond))
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Store) chunkPoint(info *collectionInfo, docID, version string, ch ragd.Chunk) *qdrant.PointStruct {
	vecs := map[string]*qdrant.Vector{}
	if ch.Vector != nil {
		vecs[denseVector] = qdrant.NewVectorDense(ch.Vector)
	}
	idx, vals, dl := documentSparse(ch.EmbeddingText(), info.avgLen)
	vecs[sparseVector] = qdrant.NewVectorSparse(idx, vals)
	headings := make([]*qdrant.Value, len(ch.Headings))
	for i, h := range ch.Headings {
		headings[i] = qdrant.NewValueString(h)
	}
	return &qdrant.PointStruct{
		Id:      chunkPointID(docID, version, ch.Index),
		Vectors: qdrant.NewVectorsMap(vecs),
		Payload: map[string]*qdrant.Value{
			keyKind:       qdrant.NewValueString(kindChunk),
			keyCollection: qdrant.NewValueString(info.c.Name),
			keyDocID:      qdrant.NewValueString(docID),
			keyVersion:    qdrant.NewValueString(version),
			keyChunkID:    qdrant.NewValueString(ch.ID),
			keyIndex:      qdrant.NewValueInt(int64(ch.Index)),
			keyText:       qdrant.NewValueString(ch.Text),
			keyHeadings:   qdrant.NewValueFromList(headings...),
			keyStart:      qdrant.NewValueInt(int64(ch.Start)),
			keyEnd:        qdrant.NewValueInt(int64(ch.End)),
			keyTokens:     qdrant.NewValueInt(int64(ch.Tokens)),
			keyHash:       qdrant.NewValueString(ch.Hash),
			keyMetadata:   metadataValue(ch.Metadata),
			keyDL:         qdrant.NewValueInt(int64(dl)),
		},
	}
}

func chunkFromPoint(docID string, p *qdrant.RetrievedPoint) ragd.Chunk {
	pl := p.GetPayload()
	ch := ragd.Chunk{
		ID:         strPayload(pl, keyChunkID),
		DocumentID: docID,
		Index:      int(intPayload(pl, keyIndex)),
		Text:       strPayload(pl, keyText),
		Headings:   stringsPayload(pl, keyHeadings),
		Start:      int(intPayload(pl, keyStart)),
		End:        int(intPayload(pl, keyEnd)),
		Tokens:     int(intPayload(pl, keyTokens)),
		Hash:       strPayload(pl, keyHash),
		Metadata:   metadataPayload(pl, keyMetadata),
	}
	if v := p.GetVectors().GetVectors().GetVectors()[denseVector]; v != nil {
		ch.Vector = denseData(v)
	}
	return ch
}

// denseData reads a dense vector from either of the forms Qdrant answers in.
func denseData(v *qdrant.VectorOutput) []float32 {
	if d := v.GetDense(); d != nil {
		return d.GetData()
	}
	return v.GetData() //nolint:staticcheck // older servers fill only the deprecated field
}

// upsert writes points and waits until Qdrant has applied them.
func (s *Store) upsert(ctx context.Context, info *collectionInfo, points []*qdrant.PointStruct, updateFilter *qdrant.Filter) error {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	_, err := s.points.Upsert(cctx, &qdrant.UpsertPoints{
		CollectionName: info.physical,
		Wait:           qdrant.PtrOf(true),
		Points:         points,
		UpdateFilter:   updateFilter,
		Ordering:       &qdrant.WriteOrdering{Type: qdrant.WriteOrderingType_Strong},
	})
	if err != nil {
		return s.fail(ctx, info, err, "upsert")
	}
	return nil
}

// deletePoints deletes the points a selector names and waits for it.
func (s *Store) deletePoints(ctx context.Context, info *collectionInfo, sel *qdrant.PointsSelector) error {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	_, err := s.points.Delete(cctx, &qdrant.DeletePoints{
		CollectionName: info.physical,
		Wait:           qdrant.PtrOf(true),
		Points:         sel,
		Ordering:       &qdrant.WriteOrdering{Type: qdrant.WriteOrderingType_Strong},
	})
	if err != nil {
		return s.fail(ctx, info, err, "delete points")
	}
	return nil
}

// versionFilter selects the chunk points of one version of a document.
func versionFilter(docID, version string) *qdrant.Filter {
	return &qdrant.Filter{Must: []*qdrant.Condition{
		qdrant.NewMatchKeyword(keyKind, kindChunk),
		qdrant.NewMatchKeyword(keyDocID, docID),
		qdrant.NewMatchKeyword(keyVersion, version),
	}}
}

// deleteVersion deletes the chunk points of one version of a document.
func (s *Store) deleteVersion(ctx context.Context, info *collectionInfo, docID, version string) error {
	return s.deletePoints(ctx, info, qdrant.NewPointsSelectorFilter(versionFilter(docID, version)))
}

// Document returns one document, or ENotFound.
func (s *Store) Document(ctx context.Context, collection, id string) (ragd.Document, error) {
	info, err := s.collection(ctx, collection)
	if err != nil {
		return ragd.Document{}, err
	}
	rec, found, err := s.readRecord(ctx, info, id, nil)
	if err != nil {
		return ragd.Document{}, err
	}
	if !found {
		return ragd.Document{}, notFoundDocument(collection, id)
	}
	return rec.doc, nil
}

// Documents returns up to limit documents whose ID sorts after the given
// one, in ascending ID order.
//
// Qdrant orders only by numbers, so each record carries sortKey(ID), the
// ID's first eight bytes as an ordered int64. Records come back by that key
// from Qdrant's order_by; records sharing a key (IDs with a common
// eight-byte prefix) are read as a group and sorted by ID here.
func (s *Store) Documents(ctx context.Context, collection, after string, limit int) ([]ragd.Document, error) {
	info, err := s.collection(ctx, collection)
	if err != nil {
		return nil, err
	}
	out := []ragd.Document{}
	if limit <= 0 {
		return out, nil
	}
	start := int64(math.MinInt64)
	if after != "" {
		start = sortKey(after)
	}
	for {
		batch := limit - len(out) + 1
		pts, err := s.scrollOrdered(ctx, info, start, batch)
		if err != nil {
			return nil, err
		}
		// Group by key; every group but the last of a full batch is complete.
		type group struct {
			key  int64
			docs []ragd.Document
		}
		var groups []group
		for _, p := range pts {
			k := intPayload(p.GetPayload(), keySortKey)
			if len(groups) == 0 || groups[len(groups)-1].key != k {
				groups = append(groups, group{key: k})
			}
			g := &groups[len(groups)-1]
			g.docs = append(g.docs, docFromPayload(collection, p.GetPayload()))
		}
		full := len(pts) == batch
		if full && len(groups) > 0 {
			last := &groups[len(groups)-1]
			last.docs, err = s.recordsWithKey(ctx, info, last.key)
			if err != nil {
				return nil, err
			}
		}
		for _, g := range groups {
			slices.SortFunc(g.docs, func(a, b ragd.Document) int { return strings.Compare(a.ID, b.ID) })
			for _, d := range g.docs {
				if d.ID > after {
					out = append(out, d)
				}
			}
			if len(out) >= limit {
				return out[:limit], nil
			}
		}
		if !full || len(groups) == 0 || groups[len(groups)-1].key == math.MaxInt64 {
			return out, nil
		}
		start = groups[len(groups)-1].key + 1
	}
}

// scrollOrdered reads up to limit document records with sort keys from
// start on, in key order.
func (s *Store) scrollOrdered(ctx context.Context, info *collectionInfo, start int64, limit int) ([]*qdrant.RetrievedPoint, error) {
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.points.Scroll(cctx, &qdrant.ScrollPoints{
		CollectionName: info.physical,
		Filter:         kindFilter(kindDoc),
		Limit:          qdrant.PtrOf(uint32(limit)),
		WithPayload:    qdrant.NewWithPayload(true),
		WithVectors:    qdrant.NewWithVectors(false),
		OrderBy: &qdrant.OrderBy{
			Key:       keySortKey,
			Direction: qdrant.Direction_Asc.Enum(),
			StartFrom: qdrant.NewStartFromInt(start),
		},
	})
	if err != nil {
		return nil, s.fail(ctx, info, err, "list documents")
	}
	return resp.GetResult(), nil
}

// recordsWithKey reads every document record whose sort key is key.
func (s *Store) recordsWithKey(ctx context.Context, info *collectionInfo, key int64) ([]ragd.Document, error) {
	var docs []ragd.Document
	filter := &qdrant.Filter{Must: []*qdrant.Condition{
		qdrant.NewMatchKeyword(keyKind, kindDoc),
		qdrant.NewMatchInt(keySortKey, key),
	}}
	err := s.scroll(ctx, info, filter, nil, false, func(p *qdrant.RetrievedPoint) error {
		docs = append(docs, docFromPayload(info.c.Name, p.GetPayload()))
		return nil
	})
	return docs, err
}

// Chunks returns a document's current chunks in Index order, with their
// vectors, or ENotFound.
func (s *Store) Chunks(ctx context.Context, collection, documentID string) ([]ragd.Chunk, error) {
	info, err := s.collection(ctx, collection)
	if err != nil {
		return nil, err
	}
	rec, found, err := s.readRecord(ctx, info, documentID, []string{keyChunkCount})
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if !found {
			return nil, notFoundDocument(collection, documentID)
		}
		var chunks []ragd.Chunk
		err := s.scroll(ctx, info, versionFilter(documentID, rec.version), nil, true, func(p *qdrant.RetrievedPoint) error {
			chunks = append(chunks, chunkFromPoint(documentID, p))
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.SortFunc(chunks, func(a, b ragd.Chunk) int { return a.Index - b.Index })
		if len(chunks) == rec.doc.ChunkCount || attempt == 2 {
			return chunks, nil
		}
		// The document was replaced while we read it: read the new version.
		next, nextFound, err := s.readRecord(ctx, info, documentID, []string{keyChunkCount})
		if err != nil {
			return nil, err
		}
		if nextFound && next.version == rec.version {
			return chunks, nil
		}
		rec, found = next, nextFound
	}
}

// PutDocument stores doc and replaces its chunks so that readers see the old
// version or the new one, never a mix, whatever step a crash stops it at:
//
//  1. write an intent record naming the new version and the current one;
//  2. write the new version's chunk points (invisible: not current yet);
//  3. switch the document record to the new version, conditionally on it
//     still naming the version read at the start;
//  4. delete the old version's points, and the new one's if another writer
//     got there first;
//  5. delete the intent record.
//
// A write stopped before 5 leaves its intent record for the sweep.
func (s *Store) PutDocument(ctx context.Context, doc ragd.Document, chunks []ragd.Chunk) error {
	if doc.ID == "" {
		return ragd.Errorf(ragd.EInvalid, "document id is empty")
	}
	if err := validateUTF8(doc, chunks); err != nil {
		return err
	}
	info, err := s.collection(ctx, doc.Collection)
	if err != nil {
		return err
	}
	if err := checkDimensions(info, chunks); err != nil {
		// The cached description may be stale: another process may have
		// re-created the collection. Check against a fresh one.
		s.forget(doc.Collection)
		if info, err = s.collection(ctx, doc.Collection); err != nil {
			return err
		}
		if err := checkDimensions(info, chunks); err != nil {
			return err
		}
	}
	doc.Collection = info.c.Name
	doc.ChunkCount = len(chunks)

	// prev is the zero record when the document does not exist yet.
	prev, _, err := s.readRecord(ctx, info, doc.ID, []string{keyCreatedAt})
	if err != nil {
		return err
	}
	started := s.opts.Now()
	if doc.CreatedAt.IsZero() {
		doc.CreatedAt = started
		if !prev.doc.CreatedAt.IsZero() {
			doc.CreatedAt = prev.doc.CreatedAt
		}
	}
	if doc.UpdatedAt.IsZero() {
		doc.UpdatedAt = started
	}
	v := newVersion()

	if err := s.upsert(ctx, info, []*qdrant.PointStruct{intentPoint(doc.ID, "put", v, prev.version, started)}, nil); err != nil {
		return err
	}
	if err := s.step(StepIntent); err != nil {
		return err
	}
	for lo := 0; lo < len(chunks); lo += s.opts.BatchSize {
		hi := min(lo+s.opts.BatchSize, len(chunks))
		batch := make([]*qdrant.PointStruct, 0, hi-lo)
		for _, ch := range chunks[lo:hi] {
			batch = append(batch, s.chunkPoint(info, doc.ID, v, ch))
		}
		if err := s.upsert(ctx, info, batch, nil); err != nil {
			return err
		}
		if err := s.step(StepPoints); err != nil {
			return err
		}
	}
	if elapsed := s.opts.Now().Sub(started); elapsed > s.opts.SweepGrace/2 {
		return &ragd.Error{Code: ragd.EUnavailable, Message: "Writing the document to the vector store took too long; try again.", RetryAfter: retryAfter,
			Err: errTooSlow(elapsed)}
	}
	// Switch, unless another writer switched the record since we read it.
	onlyIf := &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword(keyVersion, prev.version)}}
	if err := s.upsert(ctx, info, []*qdrant.PointStruct{recordPoint(info.c.Name, doc, v)}, onlyIf); err != nil {
		return err
	}
	if err := s.step(StepSwitch); err != nil {
		return err
	}
	// The record no longer names prev.version (ours replaced it, or a
	// concurrent write did), so its points can go.
	if prev.version != "" {
		if err := s.deleteVersion(ctx, info, doc.ID, prev.version); err != nil {
			return err
		}
	}
	cur, found, err := s.readRecord(ctx, info, doc.ID, []string{})
	if err != nil {
		return err
	}
	if !found || cur.version != v {
		// A concurrent write or delete won; ours is superseded for good.
		if err := s.deleteVersion(ctx, info, doc.ID, v); err != nil {
			return err
		}
	}
	if err := s.step(StepCleanup); err != nil {
		return err
	}
	if err := s.deletePoints(ctx, info, qdrant.NewPointsSelector(intentPointID(doc.ID, "put", v))); err != nil {
		return err
	}
	return s.step(StepDone)
}

// DeleteDocument removes a document and its chunks, or returns ENotFound:
// it writes an intent record, deletes the document record (from then on no
// search returns the document), deletes the points, then the intent.
func (s *Store) DeleteDocument(ctx context.Context, collection, id string) error {
	info, err := s.collection(ctx, collection)
	if err != nil {
		return err
	}
	rec, found, err := s.readRecord(ctx, info, id, []string{})
	if err != nil {
		return err
	}
	if !found {
		return notFoundDocument(collection, id)
	}
	if err := s.upsert(ctx, info, []*qdrant.PointStruct{intentPoint(id, "delete", "", rec.version, s.opts.Now())}, nil); err != nil {
		return err
	}
	if err := s.step(StepIntent); err != nil {
		return err
	}
	if err := s.deletePoints(ctx, info, qdrant.NewPointsSelector(docPointID(id))); err != nil {
		return err
	}
	if err := s.step(StepSwitch); err != nil {
		return err
	}
	if err := s.deleteVersion(ctx, info, id, rec.version); err != nil {
		return err
	}
	if err := s.step(StepCleanup); err != nil {
		return err
	}
	if err := s.deletePoints(ctx, info, qdrant.NewPointsSelector(intentPointID(id, "delete", rec.version))); err != nil {
		return err
	}
	return s.step(StepDone)
}
