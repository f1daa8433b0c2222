using System.Diagnostics;

namespace CoapEnroll.Cmp.Tests;

/// <summary>Runs `openssl cmp` against its own mock server in a temporary directory and returns the DER messages it saved.</summary>
public sealed class OpenSslMessages : IDisposable
{
    public OpenSslMessages()
    {
        Dir = Directory.CreateTempSubdirectory("cmp-test-").FullName;
        Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=MockCA", "-days", "30");
        Run("req", "-new", "-key", "ca.key", "-subj", "/CN=dev", "-out", "dev.csr");
    }

    public string Dir { get; }

    /// <summary>Runs one MAC-protected exchange with the mock server; returns the requests and responses in order.</summary>
    public (byte[][] Requests, byte[][] Responses) Exchange(string cmd, params string[] extra)
    {
        string[] reqs = [$"{cmd}-req1.der", $"{cmd}-req2.der", $"{cmd}-req3.der"];
        string[] rsps = [$"{cmd}-rsp1.der", $"{cmd}-rsp2.der", $"{cmd}-rsp3.der"];
        foreach (string stale in reqs.Concat(rsps))
        {
            File.Delete(Path.Combine(Dir, stale));
        }

        var args = new List<string>
        {
            "cmp", "-use_mock_srv", "-srv_ref", "ref1", "-srv_secret", "pass:sec", "-srv_cert", "ca.crt", "-srv_key", "ca.key",
            "-rsp_cert", "ca.crt", "-grant_implicitconf", "-ref", "ref1", "-secret", "pass:sec", "-recipient", "/CN=MockCA", "-cmd", cmd,
            "-reqout", string.Join(',', reqs), "-rspout", string.Join(',', rsps),
        };
        if (cmd is "ir" or "cr" or "kur" or "p10cr")
        {
            args.AddRange(["-certout", $"{cmd}-out.crt"]);
        }

        args.AddRange(extra);
        Run([.. args]);
        return (Existing(reqs), Existing(rsps));
    }

    /// <summary>Generates a private key file in <see cref="Dir"/> (openssl genpkey with the given options); returns its name.</summary>
    public string NewKey(string name, params string[] options)
    {
        Run(["genpkey", .. options, "-out", name]);
        return name;
    }

    /// <summary>Runs `openssl cmp` as a client against an unreachable server and returns the request it wrote (-reqout), or null.</summary>
    public byte[]? Request(string cmd, params string[] extra)
    {
        string name = $"{cmd}-{Guid.NewGuid():N}.der";
        Run(["cmp", "-server", "127.0.0.1:1/x", "-cmd", cmd, "-reqout", name, "-certout", $"{name}.crt", .. extra]);
        string path = Path.Combine(Dir, name);
        return File.Exists(path) ? File.ReadAllBytes(path) : null;
    }

    /// <summary>Runs any openssl command in the working directory.</summary>
    public void Openssl(params string[] args) => Run(args);

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    private byte[][] Existing(string[] names) =>
        names.Select(n => Path.Combine(Dir, n)).Where(File.Exists).Select(File.ReadAllBytes).ToArray();

    private void Run(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { WorkingDirectory = Dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
    }
}
