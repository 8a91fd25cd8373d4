#!/bin/sh
# Pulls the models ragd's compose services use into the Ollama volume, once:
# models already there are only checked. Run by the ollama-pull service.
set -eu
for model in "${RAGD_CHAT_MODEL:?}" "${RAGD_EMBED_MODEL:?}"; do
	echo "ollama-pull: $model"
	ollama pull "$model"
done
