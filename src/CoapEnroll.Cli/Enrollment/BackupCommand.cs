using System.CommandLine;
using System.Globalization;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll backup --out DEST [--data DIR] [--Key=value ...]</c>: a copy of the data directory from which a CA can be restored
/// (stop serve, put DEST in DIR's place, start serve), taken while <c>serve</c> runs. Every file of DIR is copied with its mode (the
/// CA keys, the server credential, the key-generation and demo secrets), and the SQLite store as one consistent snapshot
/// (<see cref="SqliteCertificateStore.WriteBackupAsync"/>, never the live file and its WAL, which a plain copy would tear). A store
/// on PostgreSQL and a CA key on a token are not in DIR: the command says so, and they are backed up with their own tools.
/// </summary>
internal static class BackupCommand
{
    private static readonly string[] s_liveStoreFiles = ["coapenroll.db", "coapenroll.db-wal", "coapenroll.db-shm", "coapenroll.db-journal"];

    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Data directory of the server (default: ./data; config key DataDirectory)", HelpName = "DIR" };
        var output = new Option<string>("--out") { Description = "The backup directory to create (it must not exist, or be empty)", HelpName = "DEST", Required = true };
        var command = new Command("backup", "Copy the data directory (CA keys, credentials, secrets) and a consistent snapshot of the SQLite store to DEST, while serve runs.")
        {
            data,
            output,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ConfigurationArguments.ThrowOnUnrecognized(parseResult.UnmatchedTokens, "backup");
            using IHost host = ServeHost.BuildOffline(parseResult.GetValue(data), parseResult.UnmatchedTokens);
            await using CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
            CaDataLayout layout = certification.Layout;
            string source = layout.DataDirectory;
            string destination = Path.GetFullPath(parseResult.GetValue(output)!);
            Check(source, destination, certification.StoreIsDatabaseFile ? layout.Database : null);

            TextWriter stdout = parseResult.InvocationConfiguration.Output;
            int files;
            (long Certificates, long Requests)? store = null;
            try
            {
                CreatePrivateDirectory(destination);

                // The store first, the files after: a file the store refers to (ca/keygen.secret, made with the first /skg) is then
                // in the copy, at worst with files newer than the snapshot, which a restored CA uses as it would have.
                if (certification.StoreIsDatabaseFile)
                {
                    store = await SqliteCertificateStore.WriteBackupAsync(layout.Database, Path.Combine(destination, Path.GetFileName(layout.Database)), cancellationToken);
                }

                files = await CopyFilesAsync(source, destination, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                RemoveQuietly(destination);
                throw new CliException(ExitCodes.Failure, $"Backup of {source} to {destination} failed, nothing kept: {ex.Message}", ex);
            }
            catch
            {
                RemoveQuietly(destination);
                throw;
            }

            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Backed up {source} to {destination}: {files} files") +
                (store is { } counted
                    ? string.Create(CultureInfo.InvariantCulture, $" and a snapshot of the store ({counted.Certificates} certificates, {counted.Requests} requests).")
                    : "."));
            if (!certification.StoreIsDatabaseFile)
            {
                await stdout.WriteLineAsync($"The store is not in it: {certification.StoreLocation} is on PostgreSQL (Store:Provider=postgres); back it up with pg_dump.");
            }

            IConfiguration configuration = host.Services.GetRequiredService<IConfiguration>();
            if (configuration["Ca:KeyProvider"] is { Length: > 0 } provider && !string.Equals(provider, CaOptions.FileKeyProvider, StringComparison.OrdinalIgnoreCase))
            {
                await stdout.WriteLineAsync($"The issuing CA key is not in it: it is on a token (Ca:KeyProvider={provider}); back it up with the token's own tools.");
            }

            await stdout.WriteLineAsync($"To restore: stop serve, move {source} aside, copy {destination} to {source} (cp -a keeps the modes), start serve.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Check(string source, string destination, string? database)
    {
        if (!Directory.Exists(source))
        {
            throw new CliException(ExitCodes.Usage, $"No data directory '{source}': give the server's with --data DIR.");
        }

        if (database is not null && !File.Exists(database))
        {
            throw new CliException(ExitCodes.Usage, $"No certificate store in '{source}' (expected {database}); start the server there first: {HowToInvoke.Command("serve", "--data", source)}");
        }

        string sourcePrefix = Path.TrimEndingDirectorySeparator(source) + Path.DirectorySeparatorChar;
        if (destination == Path.TrimEndingDirectorySeparator(source) || destination.StartsWith(sourcePrefix, StringComparison.Ordinal))
        {
            throw new CliException(ExitCodes.Usage, $"--out {destination} is inside the data directory {source}: put the backup elsewhere.");
        }

        if (File.Exists(destination) || (Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any()))
        {
            throw new CliException(ExitCodes.Usage, $"--out {destination} exists and is not an empty directory: give a new one.");
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Copies DIR's files and directories (not the live store) with their modes; returns the number of files.</summary>
    private static async Task<int> CopyFilesAsync(string source, string destination, CancellationToken cancellationToken)
    {
        int files = 0;
        foreach (string directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(destination, Path.GetRelativePath(source, directory));
            Directory.CreateDirectory(target);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(target, File.GetUnixFileMode(directory));
            }
        }

        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            if (s_liveStoreFiles.Contains(relative, StringComparer.Ordinal))
            {
                continue;
            }

            string target = Path.Combine(destination, relative);
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows())
            {
                // Created with the source's mode from the start: a key is never readable by others, not even for a moment.
                create.UnixCreateMode = File.GetUnixFileMode(file);
            }

            await using var from = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, FileOptions.Asynchronous);
            await using var to = new FileStream(target, create);
            await from.CopyToAsync(to, cancellationToken);
            to.Flush(flushToDisk: true);

            files++;
        }

        return files;
    }

    private static void RemoveQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
