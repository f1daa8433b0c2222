using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Serve;

/// <summary>Configuration keys the command line sets or reads outside the sections the host binds.</summary>
internal static class ServeConfigurationKeys
{
    /// <inheritdoc cref="CertificationServices.DataDirectoryKey"/>
    public const string DataDirectory = CertificationServices.DataDirectoryKey;

    /// <summary>The prefix of environment variables read as configuration (<c>COAPENROLL_Coap__Port=5683</c>).</summary>
    public const string EnvironmentPrefix = "COAPENROLL_";
}
