using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>Runs <c>openssl cmp</c> (and the other openssl commands the CMP tests need) in a working directory of the test's own.</summary>
public sealed class OpenSslCmp : IDisposable
{
    public OpenSslCmp()
    {
        Directory.CreateDirectory(WorkingDirectory);
    }

    public string WorkingDirectory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "openssl-cmp-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => Path.Combine(WorkingDirectory, name);

    /// <summary>openssl with <paramref name="arguments"/>; never throws for a non-zero exit (refusal tests look at it).</summary>
    public Task<ProcessResult> RunAsync(params string[] arguments) =>
        ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"), arguments, TimeSpan.FromSeconds(90));

    /// <summary>openssl that must succeed.</summary>
    public async Task<ProcessResult> MustAsync(params string[] arguments)
    {
        ProcessResult result = await RunAsync(arguments);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    /// <summary>A new P-256 key in <paramref name="name"/>.</summary>
    public async Task<string> NewKeyAsync(string name)
    {
        string path = File(name);
        await MustAsync("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path);
        return path;
    }

    /// <summary><c>openssl verify</c> of <paramref name="certificate"/> against the root with the issuing CA as intermediate.</summary>
    public async Task VerifyAsync(CmpServerHost server, string certificate, params string[] extra)
    {
        ProcessResult result = await RunAsync(["verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, .. extra, certificate]);
        Assert.True(result.ExitCode == 0 && result.StandardOutput.Contains(": OK", StringComparison.Ordinal), result.Describe());
    }

    /// <summary>The (first) certificate of a PEM file.</summary>
    public static System.Security.Cryptography.X509Certificates.X509Certificate2 Load(string path) =>
        System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(System.IO.File.ReadAllText(path));

    public void Dispose()
    {
        try
        {
            Directory.Delete(WorkingDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
