using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Fuzz;

/// <summary>The test-only keys of fuzz/keys, copied beside the program; loaded once per process.</summary>
internal static class FuzzKeys
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "keys");

    public static X509Certificate2 Ca { get; } = X509Certificate2.CreateFromPem(Read("ca.pem"));

    /// <summary>The device certificate with its EC private key.</summary>
    public static X509Certificate2 Device { get; } = X509Certificate2.CreateFromPem(Read("device.pem"), Read("device.key"));

    /// <summary>The RSA recipient certificate with its private key.</summary>
    public static X509Certificate2 Rsa { get; } = X509Certificate2.CreateFromPem(Read("rsa.pem"), Read("rsa.key"));

    public static ECDiffieHellman DeviceEcdh { get; } = LoadEcdh();

    private static ECDiffieHellman LoadEcdh()
    {
        var key = ECDiffieHellman.Create();
        key.ImportFromPem(Read("device.key"));
        return key;
    }

    private static string Read(string name) => File.ReadAllText(Path.Combine(Folder, name));
}
