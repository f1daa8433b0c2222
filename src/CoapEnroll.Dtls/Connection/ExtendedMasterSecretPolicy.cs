namespace CoapEnroll.Dtls;

/// <summary>
/// Whether a full handshake may complete without the extended master secret (RFC 7627). Set with
/// <see cref="DtlsOptions.ExtendedMasterSecret"/>.
/// </summary>
public enum ExtendedMasterSecretPolicy
{
    /// <summary>
    /// The peer must negotiate extended_master_secret; otherwise the handshake is aborted with handshake_failure
    /// (RFC 7627 §5.2). The default.
    /// </summary>
    Required,

    /// <summary>
    /// A peer without extended_master_secret is accepted and the session uses the RFC 5246 §8.1 master secret. Such a
    /// session's tls-unique and exported keying material do not identify it (RFC 7627 §5.4, §6.1):
    /// <see cref="DtlsSessionEndPoint.TlsUnique"/> and <see cref="DtlsSessionEndPoint.ExportKeyingMaterial"/> refuse to
    /// give them, and <see cref="DtlsSessionEndPoint.IsExtendedMasterSecretNegotiated"/> is false. For legacy peers only.
    /// </summary>
    Optional,
}
