#!/usr/bin/env bash
# Writes a tiny OCI image layout by hand (no container engine): one gzip tar layer holding one text file, a config
# with os/architecture/rootfs.diff_ids and a manifest per platform; with several platforms, an image index over them.
#
#   tests/registry/oci-image.sh DIR TAG TEXT PLATFORM [PLATFORM...]     # PLATFORM: os/arch[/variant]
#
# Prints the digest of what TAG names (the manifest, or the index), then one line `PLATFORM DIGEST` per manifest.
# TEXT goes into the layer, so different texts give different digests. Push with
#   skopeo copy --all oci:DIR:TAG docker://HOST/REPO:TAG
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 DIR TAG TEXT PLATFORM [PLATFORM...]" >&2; exit 2; }
dir=$1 tag=$2 text=$3
shift 3
mkdir -p "$dir/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"

# Stores stdin as a blob; prints "sha256:HEX SIZE".
put() {
    local tmp hex
    tmp=$(mktemp "$dir/blob.XXXXXX")
    cat > "$tmp"
    hex=$(sha256sum "$tmp" | cut -d' ' -f1)
    echo "sha256:$hex $(stat -c %s "$tmp")"
    mv "$tmp" "$dir/blobs/sha256/$hex"
}

entries=() lines=()
for platform in "$@"; do
    IFS=/ read -r os arch variant <<< "$platform"
    variant_json=${variant:+,\"variant\":\"$variant\"}
    work=$(mktemp -d)
    printf '%s on %s\n' "$text" "$platform" > "$work/hello.txt"
    tar -C "$work" --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" hello.txt
    diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
    read -r layer layer_size < <(gzip -n -c "$work/layer.tar" | put)
    rm -rf "$work"
    read -r config config_size < <(printf '{"architecture":"%s","os":"%s"%s,"rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' \
        "$arch" "$os" "$variant_json" "$diff_id" | put)
    read -r manifest manifest_size < <(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" | put)
    entries+=("{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$manifest\",\"size\":$manifest_size,\"platform\":{\"architecture\":\"$arch\",\"os\":\"$os\"$variant_json}}")
    lines+=("$platform $manifest")
done

if [ $# -eq 1 ]; then
    top_type=application/vnd.oci.image.manifest.v1+json top=$manifest top_size=$manifest_size
else
    joined=$(IFS=,; echo "${entries[*]}")
    top_type=application/vnd.oci.image.index.v1+json
    read -r top top_size < <(printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' "$top_type" "$joined" | put)
fi
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$top_type" "$top" "$top_size" "$tag" > "$dir/index.json"
echo "$top"
printf '%s\n' "${lines[@]}"
