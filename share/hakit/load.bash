# load.bash: the entry point of `bats_load_library hakit` (bats' library
# convention: DIR/hakit/load.bash, with DIR in BATS_LIB_PATH).
source "${BASH_SOURCE[0]%/*}/hakit.bash"
