namespace CoapEnroll.Ca;

/// <summary>How a profile treats the subjectAltName extension requested in the CSR (RFC 5280 section 4.2.1.6).</summary>
public enum SubjectAltNamePolicy
{
    /// <summary>Copy dNSName, iPAddress and uniformResourceIdentifier entries; reject the request if it asks for any other name form.</summary>
    Copy,

    /// <summary>Reject the request if it asks for any subject alternative name.</summary>
    Reject,
}
