using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>
/// An issued certificate whose certConf was deferred (<see cref="CmpClientOptions.DeferConfirmation"/>): what
/// <see cref="CmpClient.ConfirmAsync"/> needs to continue the transaction later (RFC 9483 §4.1.1), possibly from another process.
/// It holds no secret; the certConf is protected with the client's options as any request.
/// </summary>
public sealed class CmpPendingConfirmation
{
    /// <summary>The transactionID of the enrollment.</summary>
    public required ReadOnlyMemory<byte> TransactionId { get; init; }

    /// <summary>The senderNonce of the server's last answer, echoed as the certConf's recipNonce.</summary>
    public required ReadOnlyMemory<byte> RecipNonce { get; init; }

    /// <summary>The certReqId the certificate answers.</summary>
    public long CertReqId { get; init; }

    /// <summary>The sender name of the enrollment request (MAC protection names the subject asked for).</summary>
    public required X500DistinguishedName Sender { get; init; }

    /// <summary>The issued certificate, whose hash the certConf carries.</summary>
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>The server's confirmWaitTime, when it gave one: after it the server has revoked the certificate.</summary>
    public DateTimeOffset? ConfirmWaitTime { get; init; }
}
