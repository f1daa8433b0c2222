using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

/// <summary>
/// One open transaction (RFC 9810 §5.1.1: transactionID): what the next message of the requester must match. The store holds it
/// (<see cref="CmpTransactionRecord"/>), so that any node continues it; a node's own copy of the transactions it opened counts
/// against its bounds (<see cref="CmpTransactionTable"/>) and keeps what cannot be stored (<see cref="Opener"/>, <see cref="Authorization"/>).
/// </summary>
internal sealed class CmpTransaction
{
    public required string Id { get; init; }

    /// <summary>The requester's name; only the same requester may continue the transaction.</summary>
    public required string Requester { get; init; }

    /// <summary>
    /// The authenticated requester that opened it, on the node that opened it. A kur supersedes the certificate that signed it, yet
    /// the certConf that follows is signed with that same certificate (RFC 9483 §4.1.3): the transaction, not the store, vouches for
    /// it then. Another node authenticates such a continuation as the repeat of that kur (<see cref="EnrollmentOperation.Reenroll"/>).
    /// </summary>
    public Requester? Opener { get; init; }

    public required CmpTransactionState State { get; set; }

    /// <summary>The request body that opened it (ir, cr, kur, p10cr): the answer's type follows from it.</summary>
    public required PkiBodyType RequestType { get; init; }

    public required long CertReqId { get; init; }

    /// <summary>The senderNonce of the last answer: the next request's recipNonce must equal it.</summary>
    public required byte[] ExpectedRecipNonce { get; set; }

    /// <summary>When the transaction is given up (unconfirmed certificates revoked).</summary>
    public required DateTimeOffset Deadline { get; set; }

    /// <summary>The request asked for implicit confirmation (kept for the answer after polling).</summary>
    public bool ImplicitConfirmRequested { get; init; }

    /// <summary>The profile label of the path the request came to (for the request authorized again after polling).</summary>
    public string? ProfileLabel { get; init; }

    /// <summary>
    /// For <see cref="CmpTransactionState.Pending"/>: the PKIMessage that opened it, as received, from which a node that polls for it
    /// and has no <see cref="Authorization"/> authorizes the request again.
    /// </summary>
    public byte[]? OpeningMessage { get; set; }

    /// <summary>For <see cref="CmpTransactionState.Pending"/>: the authorized request, issued again when polled (the store makes it idempotent).</summary>
    public EnrollmentAuthorization? Authorization { get; set; }

    /// <summary>For <see cref="CmpTransactionState.AwaitingConfirmation"/>: the issued certificate.</summary>
    public byte[]? CertificateDer { get; set; }

    /// <summary>Its serial number in hex.</summary>
    public string? CertificateSerial { get; set; }

    /// <summary>The store's version of it, which the next update must name (0 before it is stored).</summary>
    public long Version { get; set; }
}
