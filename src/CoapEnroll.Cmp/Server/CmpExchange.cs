using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

/// <summary>One request being answered: the message, who sent it, and how the answer is protected.</summary>
internal sealed class CmpExchange
{
    public required PkiMessage Request { get; init; }

    public required CmpRequestContext Context { get; init; }

    /// <summary>The request as received (kept by a transaction that may wait for an operator).</summary>
    public ReadOnlyMemory<byte> Der { get; init; }

    /// <summary>For a message that continues a transaction: the transaction as the store holds it, once read (null: none open).</summary>
    public CmpTransaction? Transaction { get; set; }

    /// <summary>Whether <see cref="Transaction"/> was read.</summary>
    public bool TransactionRead { get; set; }

    /// <summary>The authenticated requester; <see langword="null"/> until authentication succeeded.</summary>
    public Requester? Requester { get; set; }

    /// <summary>The shared secret the request's MAC verified with: the answer is MAC-protected with it. Otherwise the answer is signed.</summary>
    public byte[]? Secret { get; set; }

    /// <summary>The MAC reference (senderKID) of a MAC-protected request.</summary>
    public string? Reference { get; set; }

    /// <summary>The request's MAC verified with an unused one-time secret of the store: an issuance consumes it.</summary>
    public bool OneTimeSecret { get; set; }

    /// <summary>The request used PBMAC1, so the answer does too.</summary>
    public bool Pbmac1 { get; set; }

    /// <summary>Certificates the answer carries in extraCerts besides the signer's (RFC 9483 §4.1.1: the issued certificate's chain).</summary>
    public List<System.Security.Cryptography.X509Certificates.X509Certificate2> ExtraCertificates { get; } = [];

    /// <summary>The answer's pvno: 3 when it carries a CMP 2021 feature (an EnvelopedData, RFC 9483 §3.1), else 2.</summary>
    public int AnswerPvno { get; set; } = 2;

    /// <summary>What signs this exchange's answer when it is not MAC-protected; null for the server's <see cref="CmpServer.ProtectionKey"/>.</summary>
    public CmpProtectionKey? Protection { get; set; }

    /// <summary>
    /// True once the request's outcome is stored (a certificate issued, a request waiting for an operator): a store or key failure
    /// after that is not "nothing was kept", and is not answered as one.
    /// </summary>
    public bool OutcomeStored { get; set; }

    /// <summary>The name in logs.</summary>
    public string Who => Requester?.Name ?? (Reference is { } r ? $"secret:{r}" : "unauthenticated");

    public string TransactionId => Convert.ToHexString(Request.Header.TransactionId!.Value.Span);
}
