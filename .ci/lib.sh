# shellcheck shell=bash
# What the scripts of .ci/ share; sourced by run, sid, wine and nfs, each
# after setting TIER (the prefix of its messages: sid, wine, nfs, ci).

die() { echo "${TIER:-ci}: $*" >&2; exit 1; }

# A cache is fresh while its stamp holds the recipe it was built from and is
# younger than the maximum age.
stamp_fresh() {  # STAMP CONTENT MAX_AGE_DAYS
    [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] && [ -z "$(find "$1" -mtime +"$3")" ]
}

# Rebuild TARGET, one builder at a time (flock on TARGET.building): the others
# wait, then reuse what it built. BUILD_FN builds into a new directory
# (TARGET.new, its only argument), which gets the stamp and then replaces
# TARGET, so that no one ever sees a half-built cache. A die in BUILD_FN leaves
# TARGET as it was.
guarded_rebuild() {  # TARGET STAMP_NAME STAMP_CONTENT FRESH_FN BUILD_FN
    local target=$1 stamp_name=$2 content=$3 fresh_fn=$4 build_fn=$5
    mkdir -p "$(dirname "$target")"
    (
        flock 9
        "$fresh_fn" && exit 0
        rm -rf "$target.new"
        mkdir -p "$target.new"
        "$build_fn" "$target.new"
        echo "$content" >"$target.new/$stamp_name"
        rm -rf "$target"
        mv "$target.new" "$target"
    ) 9>"$target.building"
}

# A Wine cache (its prefix has one Wine server) to this run alone until it
# exits: the others wait, saying for whom, up to $PLH_WINE_WAIT_MINUTES
# (default 90). The lock is fd 8, which no Windows program or Wine server may
# be given (`8>&-`): a server left running must not keep the cache taken.
take_cache() {  # CACHE WHAT VARIABLE: the cache, what this run does, the variable that picks another
    local cache=$1 what=$2 variable=$3 who="$1.in-use" minutes="${PLH_WINE_WAIT_MINUTES:-90}"
    mkdir -p "$(dirname "$cache")"
    exec 8>>"$who"
    if ! flock -n 8; then
        echo "${TIER:-ci}: waiting for $cache, in use by $(cat "$who" 2>/dev/null || echo 'another run') ($variable=<another folder> would not wait)" >&2
        flock -w "$((minutes * 60))" 8 || die "$cache still in use after $minutes min by $(cat "$who" 2>/dev/null || echo 'another run')"
    fi
    echo "pid $$ ($SRC: $what, since $(date '+%F %T'))" >"$who"
}

# apt-get install ARGS, and once more after an `apt-get update` (the lists may
# be stale or absent); its output goes to LOG. Another apt-get that holds
# dpkg's lock (a tier beside this one, a second checkout's CI) is waited for,
# up to APT_LOCK_WAIT seconds, rather than failed on.
APT_LOCK_WAIT=600
apt_install() {  # LOG ARG...
    local log=$1; shift
    local wait=(-o "DPkg::Lock::Timeout=$APT_LOCK_WAIT")
    DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "$@" >>"$log" 2>&1 && return 0
    apt-get "${wait[@]}" update -qq >>"$log" 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "$@" >>"$log" 2>&1
}

need() {  # COMMAND PACKAGE: the command, installed with its package if missing
    command -v "$1" >/dev/null && return 0
    apt_install /dev/null --no-install-recommends "$2" || die "no $1, and apt-get could not install $2"
}

# pytest's exit status 5 (it collected no tests) is a failure here: a tier
# that ran nothing proves nothing.
pytest_status() {  # STATUS WHAT: the status to exit with
    if [ "$1" -eq 5 ]; then
        echo "${TIER:-ci}: pytest collected no $2 tests: that is a failure here" >&2
        return 1
    fi
    return "$1"
}

# The Debian archive this machine's apt uses (sources.list and
# sources.list.d/*.list one-line entries, sources.list.d/*.sources deb822
# stanzas): the first `deb` entry with the main component and a plain suite
# (no -security or -updates), preferring a URI that ends in /debian. Empty
# when there is none.
apt_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    awk '
        function consider(types, uris, suites, comps,   n, u, s, i, j, plain) {
            if ((" " types " ") !~ / deb /) return
            if ((" " comps " ") !~ / main /) return
            plain = 0
            n = split(suites, s, " ")
            for (i = 1; i <= n; i++) if (s[i] !~ /-/) plain = 1
            if (!plain) return
            n = split(uris, u, " ")
            for (j = 1; j <= n; j++) {
                sub(/\/+$/, "", u[j])
                if (u[j] ~ /\/debian$/ && best == "") best = u[j]
                if (any == "") any = u[j]
            }
        }
        function flush() {
            if (st_types != "") consider(st_types, st_uris, st_suites, st_comps)
            st_types = st_uris = st_suites = st_comps = ""
        }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        /^[ \t]*#/ { next }
        deb822 && /^[ \t]*$/ { flush(); next }
        deb822 {
            key = tolower($1); value = $0; sub(/^[^:]*:[ \t]*/, "", value)
            if (key == "types:") st_types = value
            else if (key == "uris:") st_uris = value
            else if (key == "suites:") st_suites = value
            else if (key == "components:") st_comps = value
            else if (key == "enabled:" && tolower(value) == "no") st_types = "disabled"
            next
        }
        $1 == "deb" {
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            comps = ""
            for (k = i + 2; k <= NF; k++) comps = comps " " $k
            consider("deb", $i, $(i + 1), comps)
        }
        END { flush(); print (best != "" ? best : any) }
    ' "${files[@]}"
}

mirror_or_die() {  # OVERRIDE: the override, or the machine's Debian archive
    if [ -n "$1" ]; then echo "$1"; return; fi
    local found
    found=$(apt_mirror)
    [ -n "$found" ] || die "no Debian archive in /etc/apt/sources.list or /etc/apt/sources.list.d/ (set PLH_${TIER^^}_MIRROR)"
    echo "$found"
}
