using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// Raised after the CMP server revoked a certificate: on an accepted rr, and when it revokes a certificate its requester
    /// never confirmed or rejected (certConf, error, or no certConf before the deadline). Handlers run on the revoking request's
    /// path, after the revocation is stored and before the answer leaves: they must return quickly and should not throw
    /// (an exception is logged and swallowed). Revocations by other means (the operator's CLI) raise nothing here; a
    /// <see cref="CmpAnnouncer"/> finds those by the CRL number.
    /// </summary>
    public event EventHandler<CmpRevocationEventArgs>? CertificateRevoked;

    /// <summary>The current CRL of the CA (<see cref="CertificateAuthority.GetCrlAsync"/>) as a signed CRL announcement (<see cref="CreateCrlAnnouncementAsync(CrlSnapshot, CancellationToken)"/>).</summary>
    public async Task<CmpAnnouncement> CreateCrlAnnouncementAsync(CancellationToken cancellationToken) =>
        await CreateCrlAnnouncementAsync(await _enrollment.Authority.GetCrlAsync(cancellationToken), cancellationToken);

    /// <summary>
    /// A CRL announcement (crlann, RFC 9810 §5.3.16) of <paramref name="crl"/>: a PKIMessage from the <see cref="ProtectionKey"/>'s certificate to
    /// nobody in particular (recipient the NULL-DN), with a fresh transactionID and senderNonce, signed like the server's other
    /// signed answers (senderKID the signer's subject key identifier, its chain in extraCerts). An announcement answers no
    /// request, so it can only be signed: a MAC would need a secret shared with every receiver.
    /// </summary>
    /// <exception cref="CaKeyUnavailableException">The <see cref="ProtectionKey"/> is on a token that cannot be reached now.</exception>
    public async Task<CmpAnnouncement> CreateCrlAnnouncementAsync(CrlSnapshot crl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(crl);
        DateTimeOffset now = _time.GetUtcNow();
        now = CmpDer.WholeSeconds(now);
        var message = new PkiMessage
        {
            Header = new PkiHeader
            {
                Pvno = 2,
                Sender = CmpGeneralName.FromDirectoryName(_protection.Certificate.SubjectName),
                Recipient = CmpGeneralName.FromDirectoryName(new X500DistinguishedName([0x30, 0x00])),
                MessageTime = now,
                SenderKid = _protection.KeyId,
                TransactionId = RandomNumberGenerator.GetBytes(NonceLength),
                SenderNonce = RandomNumberGenerator.GetBytes(NonceLength),
            },
            Body = new CrlAnnBody { Crls = [crl.Der] },
        };
        byte[] der = PkiMessageCodec.Encode(await _protection.ProtectAsync(message, [], cancellationToken));
        return new CmpAnnouncement { BodyType = PkiBodyType.Crlann, Der = der, CrlNumber = crl.CrlNumber, NextUpdate = crl.NextUpdate, CreatedAt = now };
    }

    /// <summary>
    /// A CA key update announcement (ckuann, RFC 9810 §5.3.13) of <paramref name="update"/>: cAKeyUpdAnnV3 with
    /// RootCaKeyUpdateContent {newWithNew, newWithOld, oldWithNew}, which needs pvno cmp2021 (3); otherwise made and signed like
    /// <see cref="CreateCrlAnnouncementAsync(CrlSnapshot, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="CaKeyUnavailableException">The <see cref="ProtectionKey"/> is on a token that cannot be reached now.</exception>
    public async Task<CmpAnnouncement> CreateCaKeyUpdateAnnouncementAsync(RootCaKeyUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        DateTimeOffset now = CmpDer.WholeSeconds(_time.GetUtcNow());
        var message = new PkiMessage
        {
            Header = new PkiHeader
            {
                Pvno = 3,
                Sender = CmpGeneralName.FromDirectoryName(_protection.Certificate.SubjectName),
                Recipient = CmpGeneralName.FromDirectoryName(new X500DistinguishedName([0x30, 0x00])),
                MessageTime = now,
                SenderKid = _protection.KeyId,
                TransactionId = RandomNumberGenerator.GetBytes(NonceLength),
                SenderNonce = RandomNumberGenerator.GetBytes(NonceLength),
            },
            Body = new CkuAnnBody { IsV3 = true, NewWithNew = update.NewWithNew.RawData, NewWithOld = update.NewWithOld.RawData, OldWithNew = update.OldWithNew.RawData },
        };
        byte[] der = PkiMessageCodec.Encode(await _protection.ProtectAsync(message, [], cancellationToken));
        return new CmpAnnouncement { BodyType = PkiBodyType.Ckuann, Der = der, RootCaKeyUpdate = update, CreatedAt = now };
    }

    /// <summary>Tells <see cref="CertificateRevoked"/>'s handlers; never throws.</summary>
    private void OnCertificateRevoked(string serialHex, int reason)
    {
        try
        {
            CertificateRevoked?.Invoke(this, new CmpRevocationEventArgs(serialHex, reason));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRevokedHandlerFailed(_logger, ex, serialHex);
        }
    }

    [LoggerMessage(430, LogLevel.Error, "CMP: a handler of the revocation of {Serial} failed")]
    private static partial void LogRevokedHandlerFailed(ILogger logger, Exception exception, string serial);
}
