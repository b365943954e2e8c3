#!/bin/sh
# Builds the Debian package of director from a release build:
#
#   scripts/mkdeb.sh BUILD OUT      (make deb: build/rel build/deb)
#
# Stages the files in OUT/src/debian/director (the place dpkg-shlibdeps
# expects), derives Depends from the libraries the programs load, and
# writes OUT/director_VERSION_ARCH.deb with dpkg-deb, owned by root
# without needing root or fakeroot.  Prints the package's path.
set -eu
umask 022

build=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
pkg=director
maintainer=${DEB_MAINTAINER:-director maintainers <root@localhost>}

version=$("$build/directord" -V | sed -n 's/^directord //p')
arch=$(dpkg --print-architecture)
if [ -z "$version" ]; then
	echo "mkdeb: no version from $build/directord -V" >&2
	exit 1
fi

work=$out/src
stage=$work/debian/$pkg
rm -rf "$work"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 "$build/directord" "$stage/usr/sbin/directord"
install -D -m 0755 "$build/directorctl" "$stage/usr/bin/directorctl"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$stage/usr/sbin/directord" "$stage/usr/bin/directorctl"
for page in "$top"/man/*.[0-9]; do
	section=${page##*.}
	install -D -m 0644 "$page" \
	    "$stage/usr/share/man/man$section/$(basename "$page")"
	gzip -9n "$stage/usr/share/man/man$section/$(basename "$page")"
done
install -D -m 0644 "$top/etc/directord.conf" \
    "$stage/etc/director/directord.conf"
install -D -m 0644 "$top/etc/systemd/directord.service" \
    "$stage/lib/systemd/system/directord.service"
install -D -m 0644 "$top/etc/systemd/directord-tmpfiles.conf" \
    "$stage/usr/lib/tmpfiles.d/directord.conf"
install -D -m 0644 "$top/README.md" "$stage/usr/share/doc/$pkg/README.md"
for script in postinst prerm postrm; do
	install -m 0755 "$top/pkg/debian/$script" "$stage/DEBIAN/$script"
done
# every file under /etc is the administrator's once installed
(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) \
    >"$stage/DEBIAN/conffiles"

# dpkg-shlibdeps reads the package list of debian/control
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" \
    >"$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O \
    "debian/$pkg/usr/sbin/directord" "debian/$pkg/usr/bin/directorctl" |
    sed -n 's/^shlibs:Depends=//p')
if [ -z "$depends" ]; then
	echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2
	exit 1
fi

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print |
    sed 's|^\./||' | sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
    -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$size|" \
    -e "s|@DEPENDS@|$depends|" \
    "$top/pkg/debian/control.in" >"$stage/DEBIAN/control"

deb=$out/${pkg}_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
