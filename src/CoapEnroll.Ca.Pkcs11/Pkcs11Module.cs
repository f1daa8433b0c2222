using System.Runtime.InteropServices;
using CoapEnroll.Ca;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>
/// One loaded PKCS#11 module, shared by every key of the process that names the same file: C_Initialize may run once per
/// process and C_Finalize ends every session of it (PKCS#11 v2.40 section 5.4), so the module is finalized only when its last
/// user lets go.
/// </summary>
internal sealed class Pkcs11Module
{
    private static readonly Dictionary<string, Pkcs11Module> s_loaded = new(StringComparer.Ordinal);
    private static readonly Lock s_lock = new();
    private int _users;

    // Pkcs11Interop calls dlopen through "libdl", which glibc 2.34 and later ship only as libdl.so.2 (the unversioned name comes
    // with libc6-dev); dlopen itself lives in libc.so.6 there. Resolve the name once for Pkcs11Interop's assembly.
    static Pkcs11Module() => NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, (name, assembly, searchPath) =>
    {
        if (name != "libdl" || !OperatingSystem.IsLinux())
        {
            return IntPtr.Zero;
        }

        return NativeLibrary.TryLoad("libdl.so.2", out IntPtr handle) || NativeLibrary.TryLoad("libc.so.6", out handle) ? handle : IntPtr.Zero;
    });

    private IPkcs11Library? _library;

    private Pkcs11Module(string path, IPkcs11Library library)
    {
        Path = path;
        _library = library;
    }

    public string Path { get; }

    /// <summary>The loaded library; after a <see cref="TryReinitialize"/> that could not load it again, none until one can.</summary>
    /// <exception cref="CaKeyUnavailableException">The module is not loaded now.</exception>
    public IPkcs11Library Library => _library ?? throw new CaKeyUnavailableException($"the PKCS#11 module {Path} is not initialized; reloading");

    public static Pkcs11InteropFactories Factories { get; } = new();

    /// <summary>The module at <paramref name="path"/>, loaded and initialized (multi-threaded, OS locking) on first use.</summary>
    /// <exception cref="CaConfigurationException">The file is missing or is not a PKCS#11 module.</exception>
    public static Pkcs11Module Acquire(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        lock (s_lock)
        {
            if (!s_loaded.TryGetValue(full, out Pkcs11Module? module))
            {
                if (!File.Exists(full))
                {
                    throw new CaConfigurationException(full, CaConfigurationProblem.TokenUnavailable, $"the PKCS#11 module ({Pkcs11KeyOptions.SectionName}:Module) does not exist");
                }

                module = new Pkcs11Module(full, Load(full));
                s_loaded[full] = module;
            }

            module._users++;
            return module;
        }
    }

    /// <summary>Lets go of the module; the last user finalizes and unloads it.</summary>
    public void Release()
    {
        lock (s_lock)
        {
            if (--_users > 0)
            {
                return;
            }

            s_loaded.Remove(Path);
            _library?.Dispose();
            _library = null;
        }
    }

    /// <summary>
    /// C_Finalize and C_Initialize again (the library unloaded and loaded), for a token that came back but that the module no
    /// longer recognises: SoftHSM2, for one, answers CKR_GENERAL_ERROR for a token whose directory went away and came back until it
    /// is initialized again. C_Finalize ends every session of the process (PKCS#11 v2.40 section 5.4), so this is done only while
    /// the caller is the module's only user and has no operation in flight (it says so with <paramref name="idle"/>).
    /// </summary>
    /// <param name="idle">True when the caller has no session in use.</param>
    /// <returns>True when the library is a new one now.</returns>
    /// <exception cref="CaConfigurationException">The module can no longer be loaded.</exception>
    public bool TryReinitialize(bool idle)
    {
        lock (s_lock)
        {
            if (_users != 1 || !idle)
            {
                return false;
            }

            IPkcs11Library? old = _library;
            _library = null;
            old?.Dispose();
            _library = Load(Path);
            return true;
        }
    }

    private static IPkcs11Library Load(string path)
    {
        try
        {
            return Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, path, AppType.MultiThreaded);
        }
        catch (Exception ex) when (ex is Pkcs11Exception or UnmanagedException or DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
        {
            throw new CaConfigurationException(path, CaConfigurationProblem.TokenUnavailable, $"cannot be loaded as a PKCS#11 module: {ex.Message}", ex);
        }
    }
}
