namespace CoapEnroll.Cmp;

/// <summary>What <see cref="CmpServer.CertificateRevoked"/> reports: a certificate the CMP server has just revoked.</summary>
public sealed class CmpRevocationEventArgs : EventArgs
{
    /// <summary>A revocation of <paramref name="serialHex"/> for CRLReason <paramref name="reason"/>.</summary>
    public CmpRevocationEventArgs(string serialHex, int reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(serialHex);
        SerialHex = serialHex;
        Reason = reason;
    }

    /// <summary>The serial number of the revoked certificate, in hex.</summary>
    public string SerialHex { get; }

    /// <summary>The RFC 5280 CRLReason it was revoked for.</summary>
    public int Reason { get; }
}
