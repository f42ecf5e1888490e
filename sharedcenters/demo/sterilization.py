"""Demo sterilization: three rounds of the package loop (one failed cycle, one recall after use) and
the community centers' supply requests."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from alliance.choices import Role
from alliance.models import Institution, Patient

from .. import services
from ..choices import PackageAction
from ..models import InstrumentSet, Package, PackageEvent, SharedCenter, SterilizationCycle
from .orders import clinical_user


def create_sterilization(center: SharedCenter, members: list[Institution], now) -> None:
    """Three rounds of the package loop; the second round's first cycle fails its biological
    indicator, and one released cycle of the third round is recalled after use."""
    User = get_user_model()
    staff = center.staff.order_by("pk").first()
    users = {
        i.pk: User.objects.filter(
            staff_profile__institution=i,
            staff_profile__role__in=[Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF],
        )
        .order_by("pk")
        .first()
        for i in members
    }
    sets = list(InstrumentSet.objects.filter(center=center).order_by("code"))
    packages = []
    for index, member in enumerate(members):
        for n in range(8):
            instrument_set = sets[n % len(sets)]
            packages.append(
                services.package_register(
                    actor=staff,
                    instrument_set=instrument_set,
                    owner=member,
                    barcode=f"XD{index + 1:02d}{n + 1:04d}",
                )
            )
    patients = {
        i.pk: list(Patient.objects.filter(home_institution=i).order_by("pk")) for i in members
    }
    for round_no, days_back in enumerate((20, 10, 2), start=1):
        first_event = PackageEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        cycle_start_at = now - datetime.timedelta(days=days_back)
        fresh = [p for p in Package.objects.filter(instrument_set__center=center).order_by("pk")]
        codes = [p.barcode for p in fresh if p.status == "received"]
        services.packages_move(actor=staff, barcodes=codes, action=PackageAction.CLEAN)
        services.packages_move(actor=staff, barcodes=codes, action=PackageAction.PACK)
        by_method: dict[str, list[str]] = {}
        for package in fresh:
            if package.barcode in codes:
                by_method.setdefault(package.instrument_set.method, []).append(package.barcode)
        released = []
        for number, (method, batch) in enumerate(sorted(by_method.items()), start=1):
            cycle = services.cycle_start(
                actor=staff,
                center=center,
                sterilizer="1号脉动真空灭菌器" if method == "steam" else "2号低温等离子灭菌器",
                cycle_number=f"{cycle_start_at:%Y%m%d}-{number:02d}",
                method=method,
                started_at=cycle_start_at,
            )
            services.packages_move(
                actor=staff, barcodes=batch, action=PackageAction.STERILIZE, cycle=cycle
            )
            failed = round_no == 2 and number == 1
            # The last round's first cycle is released on its physical and chemical indicators;
            # its biological indicator, read the next day, fails after packages were used.
            late = round_no == 3 and number == 1
            biological = "failed" if failed else "pending" if late else "passed"
            cycle = services.cycle_record_results(
                actor=staff,
                cycle=cycle,
                physical="passed",
                chemical="passed",
                biological=biological,
                ended_at=cycle_start_at + datetime.timedelta(hours=1),
            )
            if not failed:
                released.append((cycle, batch))
        for _cycle, batch in released:
            services.packages_move(actor=staff, barcodes=batch, action=PackageAction.STORE)
            services.packages_move(actor=staff, barcodes=batch, action=PackageAction.DISPATCH)
            by_owner: dict[int, list[Package]] = {}
            for package in Package.objects.filter(barcode__in=batch):
                by_owner.setdefault(package.owner_id, []).append(package)
            for owner_id, owned in by_owner.items():
                member_user = users[owner_id]
                services.packages_move(
                    actor=member_user,
                    barcodes=[p.barcode for p in owned],
                    action=PackageAction.RECEIVE_BY_MEMBER,
                )
                for package in owned[: (len(owned) + 1) // 2]:
                    patient = (
                        patients[owner_id][package.pk % len(patients[owner_id])]
                        if patients[owner_id]
                        else None
                    )
                    services.packages_move(
                        actor=member_user,
                        barcodes=[package.barcode],
                        action=PackageAction.USE,
                        patient=patient,
                        procedure="门诊清创缝合术",
                    )
                if round_no < 3:
                    used = [p.barcode for p in owned[: (len(owned) + 1) // 2]]
                    services.packages_move(
                        actor=member_user, barcodes=used, action=PackageAction.COLLECT
                    )
        if round_no == 3 and released:
            services.cycle_record_results(
                actor=staff,
                cycle=released[0][0],
                physical="passed",
                chemical="passed",
                biological="failed",
            )
        if round_no < 3:
            # Collected packages arrive at the center before the next round starts.
            collected = list(
                Package.objects.filter(status="collected").values_list("barcode", flat=True)
            )
            if collected:
                services.packages_move(
                    actor=staff, barcodes=collected, action=PackageAction.RECEIVE
                )
        # The round happened days_back ago: move its events (and the package dates) back.
        delta = datetime.timedelta(days=days_back) - datetime.timedelta(hours=2)
        PackageEvent.objects.filter(pk__gt=first_event).update(at=F("at") - delta)
        SterilizationCycle.objects.filter(
            recalled_at__isnull=False, recalled_at__gt=now - datetime.timedelta(hours=1)
        ).update(recalled_at=F("recalled_at") - delta)
        Package.objects.filter(sterilized_at__gt=now - datetime.timedelta(hours=1)).update(
            sterilized_at=F("sterilized_at") - delta
        )
        Package.objects.filter(used_at__gt=now - datetime.timedelta(hours=1)).update(
            used_at=F("used_at") - delta
        )


# member (by position among the community centers), set code: (requested, dispatched)
SUPPLY_REQUESTS = [
    (0, {"S001": (2, 2), "S002": (1, 1)}, 2, "fulfilled", "周一清创门诊用"),
    (1, {"S002": (4, 2), "S003": (1, 0)}, 1, "open", "换药室补充"),
    (2, {"S001": (3, 0), "S003": (2, 0)}, 0, "open", ""),
    (3, {"S004": (1, 0)}, 1, "cancel", "手术改期"),
]
SHELF_EXTRA = {2: {"S001": 1}}  # on the shelf for the open request: the pick list shows it


def create_supply_requests(center: SharedCenter, members: list[Institution], now) -> None:
    """Requests from the community centers, served from packages processed for them today.

    Each member's barcodes continue its series of `create_sterilization` (XD02…, XD03…)."""
    staff = center.staff.order_by("pk").first()
    sets = {kit.code: kit for kit in InstrumentSet.objects.filter(center=center)}
    today = timezone.localdate(now)
    stock: dict[tuple[int, str], list[str]] = {}
    for position, lines, _days, _state, _note in SUPPLY_REQUESTS:
        member = members[position]
        wanted = {code: sent for code, (_asked, sent) in lines.items()}
        for code, extra in SHELF_EXTRA.get(position, {}).items():
            wanted[code] = wanted.get(code, 0) + extra
        number = 9  # after the eight packages each member got in `create_sterilization`
        for code, count in wanted.items():
            for _ in range(count):
                barcode = f"XD{position + 2:02d}{number:04d}"
                number += 1
                services.package_register(
                    actor=staff, instrument_set=sets[code], owner=member, barcode=barcode
                )
                stock.setdefault((member.pk, code), []).append(barcode)
    codes = [barcode for barcodes in stock.values() for barcode in barcodes]
    for action in (PackageAction.CLEAN, PackageAction.PACK):
        services.packages_move(actor=staff, barcodes=codes, action=action)
    cycle = services.cycle_start(
        actor=staff,
        center=center,
        sterilizer="1号脉动真空灭菌器",
        cycle_number=f"{today:%Y%m%d}-01",
        method="steam",
    )
    services.packages_move(actor=staff, barcodes=codes, action=PackageAction.STERILIZE, cycle=cycle)
    services.cycle_record_results(
        actor=staff, cycle=cycle, physical="passed", chemical="passed", biological="passed"
    )
    services.packages_move(actor=staff, barcodes=codes, action=PackageAction.STORE)
    for position, lines, days, state, note in SUPPLY_REQUESTS:
        member = members[position]
        requester = clinical_user(member)
        supply_request = services.supply_request_create(
            actor=requester,
            center=center,
            note=note,
            lines=[(sets[code], asked) for code, (asked, _sent) in lines.items()],
            needed_by=today + datetime.timedelta(days=2) if state == "open" else None,
            at=now - datetime.timedelta(days=days, hours=3),
        )
        if state == "cancel":
            services.supply_request_cancel(actor=requester, request=supply_request)
            continue
        sent = [
            barcode
            for code, (_asked, count) in lines.items()
            for barcode in stock.get((member.pk, code), [])[:count]
        ]
        if sent:
            services.packages_move(
                actor=staff,
                barcodes=sent,
                action=PackageAction.DISPATCH,
                supply_request=supply_request,
                note="按申领单配送",
            )
