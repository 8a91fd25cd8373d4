-- The index store: collections, documents, chunks with their vectors and
-- metadata, and the postings of the lexical (BM25) index.
--
-- IDs given by ragd (document and chunk IDs) use the "C" collation so that
-- ORDER BY and paging compare bytes, as Go does.

-- pgvector goes into public unless it is installed already (in any schema).
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;

CREATE TABLE collections (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text COLLATE "C" NOT NULL UNIQUE,
    embedder       text NOT NULL,
    dimension      integer NOT NULL CHECK (dimension BETWEEN 0 AND 16000),
    max_tokens     integer NOT NULL,
    overlap_tokens integer NOT NULL,
    created_at     timestamptz NOT NULL,
    -- BM25's collection statistics, kept in step with writes by the
    -- statements that change the chunks: how many chunks there are and the
    -- sum of their lengths in lexical terms.
    chunk_count    bigint NOT NULL DEFAULT 0,
    lex_length     bigint NOT NULL DEFAULT 0
);

CREATE TABLE documents (
    collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    id            text COLLATE "C" NOT NULL,
    title         text NOT NULL,
    source        text NOT NULL,
    content_type  text NOT NULL,
    metadata      jsonb,
    content_hash  text NOT NULL,
    embedder      text NOT NULL,
    chunk_count   integer NOT NULL,
    bytes         bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (collection_id, id)
);

-- embedding has no type modifier: each collection has its own dimension and
-- its own partial HNSW index on (embedding::vector(dimension)), created with
-- the collection (see store/postgres).
CREATE TABLE chunks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL,
    document_id   text COLLATE "C" NOT NULL,
    chunk_id      text COLLATE "C" NOT NULL,
    ord           integer NOT NULL,
    pos           integer NOT NULL,
    text          text NOT NULL,
    headings      text[],
    start_offset  integer NOT NULL,
    end_offset    integer NOT NULL,
    tokens        integer NOT NULL,
    hash          text NOT NULL,
    metadata      jsonb,
    embedding     vector,
    lex_length    integer NOT NULL,
    FOREIGN KEY (collection_id, document_id) REFERENCES documents (collection_id, id) ON DELETE CASCADE
);

CREATE INDEX chunks_document ON chunks (collection_id, document_id, ord, pos);

-- One row per distinct term of a chunk: tf is the term's frequency in the
-- chunk, dl the chunk's length (copied from chunks.lex_length so that ranking
-- reads postings only).
CREATE TABLE postings (
    collection_id bigint NOT NULL,
    term          text COLLATE "C" NOT NULL,
    chunk         bigint NOT NULL,
    tf            integer NOT NULL,
    dl            integer NOT NULL,
    PRIMARY KEY (collection_id, term, chunk)
);

CREATE INDEX postings_chunk ON postings (chunk);
