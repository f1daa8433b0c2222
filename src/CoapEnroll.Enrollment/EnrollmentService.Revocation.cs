using System.Globalization;
using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Enrollment;

/// <summary>Revocation requested by a certificate's holder (e.g. CMP rr, RFC 4210 section 5.3.9).</summary>
public sealed partial class EnrollmentService
{
    private const string NotAuthorized = "not authorized to revoke this certificate";

    /// <summary>How the identity of a shared secret, and of every certificate enrolled with one, begins.</summary>
    private const string SharedSecretIdentityPrefix = "secret:";

    /// <summary>
    /// Revokes certificate <paramref name="serialHex"/> (hex, case-insensitive) of this CA for RFC 5280 CRLReason
    /// <paramref name="reason"/> (<see cref="RevocationReasons"/>) on behalf of an authenticated requester, which may revoke a
    /// certificate when it authenticated with that very certificate (a current certificate of this CA, <see cref="RequesterTrust.ThisCa"/>)
    /// or when the certificate belongs to its <see cref="Requester.Identity"/> (a device revoking a certificate it obtained earlier,
    /// also with its manufacturer certificate). Not for a shared secret's identity: one secret may enroll many devices (a batch, the
    /// demo secret), which must not revoke each other, so a certificate enrolled with a secret is revoked only with itself
    /// (RFC 9483 §4.2: the rr is signed with the certificate to be revoked), never by the secret's MAC. Anything else is refused, an
    /// unknown serial number alike, with one text. Refusals are audited; the revocation is audited by the CA with the requester as actor.
    /// </summary>
    public async Task<RevocationOutcome> RevokeAsync(Requester requester, string serialHex, int reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requester);
        ArgumentNullException.ThrowIfNull(serialHex);
        if (serialHex.Length is 0 or > IssuanceRequest.MaxSerialNumberHexLength || !serialHex.All(char.IsAsciiHexDigit))
        {
            return await RefuseRevocationAsync(requester, PrintableText.Escape(serialHex, IssuanceRequest.MaxSerialNumberHexLength),
                $"the serial number must be 1..{IssuanceRequest.MaxSerialNumberHexLength} hex digits", cancellationToken);
        }

        if (requester.IsRepeatOnly)
        {
            // Authenticated to repeat one re-enrollment, nothing else; not audited, as an inactive certificate's attempts are not.
            return new RevocationOutcome { Status = RevocationOutcomeStatus.Refused, Detail = NotAuthorized };
        }

        string serial = serialHex.ToUpperInvariant();
        if (!RevocationReasons.IsValid(reason))
        {
            return await RefuseRevocationAsync(requester, serial, RevocationReasons.ValidText, cancellationToken);
        }

        bool ownCertificate = requester.Certificate is { } certificate && requester.Trust == RequesterTrust.ThisCa
            && string.Equals(certificate.SerialNumber, serial, StringComparison.OrdinalIgnoreCase);
        StoredCertificate? stored = await Authority.Store.GetCertificateAsync(serial, cancellationToken);
        bool ownIdentity = stored is not null && string.Equals(stored.Identity ?? stored.Requester, requester.Identity, StringComparison.Ordinal)
            && !requester.Identity.StartsWith(SharedSecretIdentityPrefix, StringComparison.Ordinal);
        if (!ownCertificate && !ownIdentity)
        {
            return await RefuseRevocationAsync(requester, serial, NotAuthorized, cancellationToken);
        }

        string actor = requester.Name.Length <= CertificateAuthority.MaxOperatorTextLength ? requester.Name : requester.Name[..CertificateAuthority.MaxOperatorTextLength];
        RevocationResult result = await Authority.RevokeAsync(serial, reason, actor, cancellationToken);
        switch (result.Status)
        {
            case RevocationStatus.Revoked:
                LogRevoked(_logger, serial, requester.Name, RevocationReasons.NameOf(reason));
                return new RevocationOutcome { Status = RevocationOutcomeStatus.Revoked };
            case RevocationStatus.AlreadyRevoked:
                StoredCertificate? revoked = result.Certificate;
                string when = revoked?.RevokedAt is { } at ? at.UtcDateTime.ToString(" 'on' yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "";
                string why = revoked?.RevocationReason is { } code ? $" ({RevocationReasons.NameOf(code)})" : "";
                return new RevocationOutcome { Status = RevocationOutcomeStatus.AlreadyRevoked, Detail = $"certificate {serial} was revoked before{when}{why}" };
            default:
                return new RevocationOutcome { Status = RevocationOutcomeStatus.Unknown, Detail = $"certificate {serial} is not in the store" };
        }
    }

    private async Task<RevocationOutcome> RefuseRevocationAsync(Requester requester, string serial, string detail, CancellationToken cancellationToken)
    {
        string actor = requester.Name.Length <= CertificateAuthority.MaxOperatorTextLength ? requester.Name : requester.Name[..CertificateAuthority.MaxOperatorTextLength];
        await Authority.Store.AppendAuditAsync(new AuditEntry
        {
            Timestamp = _time.GetUtcNow(),
            Actor = actor,
            Action = "rejected-revocation",
            Details = $"serial {serial}: {detail} via {requester.Peer.FrontEnd}",
        }, cancellationToken);
        LogRevocationRefused(_logger, serial, requester.Name, detail);
        return new RevocationOutcome { Status = RevocationOutcomeStatus.Refused, Detail = detail };
    }

    [LoggerMessage(3, LogLevel.Information, "Certificate {Serial} revoked at the request of {Requester} ({Reason})")]
    private static partial void LogRevoked(ILogger logger, string serial, string requester, string reason);

    [LoggerMessage(4, LogLevel.Information, "Revocation of {Serial} refused for {Requester}: {Detail}")]
    private static partial void LogRevocationRefused(ILogger logger, string serial, string requester, string detail);
}
