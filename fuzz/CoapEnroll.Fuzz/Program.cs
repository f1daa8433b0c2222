using SharpFuzz;

namespace CoapEnroll.Fuzz;

/// <summary>
/// CoapEnroll.Fuzz TARGET: runs TARGET under afl-fuzz (SharpFuzz's forkserver and persistent loop; outside afl-fuzz it runs
/// the input on standard input once). CoapEnroll.Fuzz replay TARGET PATH...: runs each file (or each file of each folder)
/// once and exits 1 naming every input that fails. CoapEnroll.Fuzz replay-all FOLDER...: the same for every target, with
/// the inputs in FOLDER/TARGET (one process for all, as the CI smoke run wants). CoapEnroll.Fuzz list: the targets.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args is ["list"])
        {
            foreach (var target in FuzzTargets.All)
            {
                Console.WriteLine($"{target.Name,-24} {target.Description}");
            }

            return 0;
        }

        if (args is ["replay", var replayName, .. var paths] && paths.Length > 0)
        {
            return FuzzTargets.Find(replayName) is { } replayTarget ? Replay(replayTarget, paths) : Unknown(replayName);
        }

        if (args is ["replay-all", .. var folders] && folders.Length > 0)
        {
            int status = 0;
            foreach (var target in FuzzTargets.All)
            {
                string[] inputs = [.. folders.Select(f => Path.Combine(f, target.Name)).Where(Directory.Exists)];
                status |= Replay(target, inputs);
            }

            return status;
        }

        if (args is [var name])
        {
            if (FuzzTargets.Find(name) is not { } target)
            {
                return Unknown(name);
            }

            // One buffer for the whole persistent loop: AFL inputs are small, and a fresh array per run would be most of the cost.
            var buffer = new MemoryStream();
            Fuzzer.Run(stream =>
            {
                buffer.SetLength(0);
                stream.CopyTo(buffer);
                target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            });
            return 0;
        }

        Console.Error.WriteLine("usage: CoapEnroll.Fuzz TARGET | replay TARGET PATH... | replay-all FOLDER... | list");
        return 2;
    }

    private static int Unknown(string name)
    {
        Console.Error.WriteLine($"unknown target '{name}'; `list` names them");
        return 2;
    }

    private static int Replay(IFuzzTarget target, string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]);
        int runs = 0;
        int failures = 0;
        foreach (string file in files)
        {
            runs++;
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
#pragma warning disable CA1031 // Every exception is what replay reports: it is a finding, whatever its type.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures++;
                Console.Error.WriteLine($"{target.Name}: {file}: {e}");
            }
        }

        Console.WriteLine($"{target.Name}: replayed {runs} inputs, {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
