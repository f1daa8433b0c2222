namespace CoapEnroll.Ca;

/// <summary>Outcome of an issuance request.</summary>
public enum IssuanceStatus
{
    /// <summary>The certificate was issued and committed to the store.</summary>
    Issued,

    /// <summary>The request is stored and waits for an operator (EST answers 5.03 with Max-Age, RFC 9148 section 5).</summary>
    Pending,

    /// <summary>The request was refused; see <see cref="RejectionReason"/>.</summary>
    Rejected,
}
