namespace CoapEnroll.Ca;

/// <summary>The form of a <see cref="GeneralName"/> (RFC 5280 section 4.2.1.6).</summary>
public enum GeneralNameKind
{
    /// <summary>dNSName [2].</summary>
    Dns,

    /// <summary>iPAddress [7].</summary>
    IPAddress,

    /// <summary>uniformResourceIdentifier [6].</summary>
    Uri,

    /// <summary>Any other form (otherName, rfc822Name, directoryName, …), kept as its encoding.</summary>
    Other,
}
