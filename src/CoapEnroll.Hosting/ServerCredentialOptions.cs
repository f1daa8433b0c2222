namespace CoapEnroll.Hosting;

/// <summary>
/// Operator-supplied files for the <see cref="ServerCredential"/>: <c>Dtls:CertificateFile</c>/<c>Dtls:KeyFile</c>, or the older
/// <c>Ca:ServerCertificateFile</c>/<c>Ca:ServerKeyFile</c>, which win when both are set. Neither set: <c>DIR/server.pem</c> and
/// <c>DIR/server.key</c>, issued by the issuing CA and re-issued when they near expiry.
/// </summary>
public sealed class ServerCredentialOptions
{
    /// <summary>The server certificate (PEM, leaf first, then intermediates).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Its private key (PEM PKCS#8 or SEC1). Required with <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }
}
