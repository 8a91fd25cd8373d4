// Package hfhub finds a model's files: in a directory given in the
// configuration, in the Hugging Face cache, or on the Hugging Face Hub,
// downloading them into that cache.
//
// The cache is huggingface_hub's, laid out exactly as it lays it out, so a
// model that Python tools downloaded is reused and one that ragd
// downloaded is theirs to use too:
//
//	CACHE/models--ORG--NAME/
//	    blobs/ETAG               file contents, named by LFS sha256 or git blob sha1
//	    blobs/ETAG.incomplete    a download in progress, resumed with a Range request
//	    refs/main                the commit hash "main" pointed to
//	    snapshots/COMMIT/FILE    relative symbolic links to ../../blobs/ETAG
//	    .no_exist/COMMIT/FILE    markers for files the repository does not have
//	CACHE/.locks/models--ORG--NAME/ETAG.lock
//
// A download asks GET ENDPOINT/api/models/REPO/revision/REV?blobs=true for
// the commit and each file's size and hash, fetches each missing file from
// ENDPOINT/REPO/resolve/COMMIT/FILE (following the Hub's redirect to its
// CDN, which does not get the token), and checks the size and the hash (the
// sha256 of an LFS file, the git blob hash of another) before linking it;
// a file that fails is deleted, never linked.
//
// [Client.Get] uses the cache without any network access when it holds the
// files of the revision, and only the cache in offline mode. [List] lists
// the cached models for `ragd models list`; [Renderer] draws download
// progress for `ragd models pull`.
package hfhub
