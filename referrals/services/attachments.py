"""Documents attached to a referral: checked by their first bytes, not by their names."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import ActionNotAllowed, IllegalTransition

from ..choices import OPEN_STATUSES, Action, Status
from ..models import Referral, ReferralAttachment
from ..workflow import RECEIVER, SENDER, sides_of
from .checks import record

# Signatures at the start of the file decide the type; the name and the browser's word do not.
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]


@transaction.atomic
def referral_attach(*, actor, referral: Referral, upload) -> ReferralAttachment:
    """Attach a document; either side may, while the referral is open or a draft."""
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if not sides_of(actor, locked) & {SENDER, RECEIVER}:
        raise ActionNotAllowed(_("Only the two institutions of the referral may attach files."))
    if locked.status not in (Status.DRAFT, *OPEN_STATUSES):
        raise IllegalTransition(_("Files can no longer be attached to this referral."))
    limit = settings.REFERRAL_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}}
        )
    head = upload.read(16)
    upload.seek(0)
    kind = next(((ctype, ext) for magic, ctype, ext in SIGNATURES if head.startswith(magic)), None)
    if kind is None:
        raise ValidationError({"file": _("Only PDF, JPEG and PNG files can be attached.")})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    attachment = ReferralAttachment(
        referral=locked,
        name=upload.name[-255:],
        content_type=kind[0],
        extension=kind[1],
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
    )
    attachment.file.save(f"upload.{kind[1]}", upload, save=False)
    attachment.save()
    record(locked, Action.ATTACH, actor, locked.status, note=attachment.name)
    return attachment
