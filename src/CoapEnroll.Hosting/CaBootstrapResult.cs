using CoapEnroll.Ca;

namespace CoapEnroll.Hosting;

/// <summary>What <see cref="CaBootstrap.LoadOrCreateAsync(CaOptions, ServerCredentialOptions?, TimeProvider?, Microsoft.Extensions.Logging.ILogger?, CancellationToken)"/> loaded.</summary>
public sealed class CaBootstrapResult
{
    public CaBootstrapResult(CaHierarchy hierarchy, ServerCredential serverCredential)
    {
        ArgumentNullException.ThrowIfNull(hierarchy);
        ArgumentNullException.ThrowIfNull(serverCredential);
        Hierarchy = hierarchy;
        ServerCredential = serverCredential;
    }

    /// <summary>The CA hierarchy the <see cref="CertificateAuthority"/> issues under.</summary>
    public CaHierarchy Hierarchy { get; }

    /// <summary>The server's (D)TLS credential.</summary>
    public ServerCredential ServerCredential { get; }
}
