namespace CoapEnroll.Cmp;

/// <summary>The id-it InfoTypeAndValue types of genm/genp the Lightweight CMP Profile uses (RFC 9483 §4.3, RFC 9810 §5.3.19).</summary>
public static class CmpInfoTypes
{
    /// <summary>id-it-caCerts: the CA certificates (request without value, answer a SEQUENCE OF CMPCertificate).</summary>
    public const string CaCerts = "1.3.6.1.5.5.7.4.17";

    /// <summary>id-it-rootCaKeyUpdate: the answer to <see cref="RootCaCert"/>; absent value when there is no update.</summary>
    public const string RootCaKeyUpdate = "1.3.6.1.5.5.7.4.18";

    /// <summary>id-it-certReqTemplate: the certificate request template (absent value when there is none).</summary>
    public const string CertReqTemplate = "1.3.6.1.5.5.7.4.19";

    /// <summary>id-it-rootCaCert: ask for a root CA update, optionally naming the root the client has.</summary>
    public const string RootCaCert = "1.3.6.1.5.5.7.4.20";

    /// <summary>id-it-crlStatusList: ask for current CRLs.</summary>
    public const string CrlStatusList = "1.3.6.1.5.5.7.4.22";

    /// <summary>id-it-crls: the CRLs (SEQUENCE OF CertificateList).</summary>
    public const string Crls = "1.3.6.1.5.5.7.4.23";
}
