using System.Buffers.Binary;
using System.Text;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// One entry of an ELF shared library's version-need table (<c>.gnu.version_r</c>): "this library needs
/// version <see cref="VersionName"/> of <see cref="LibraryName"/>".
/// </summary>
/// <param name="LibraryName">The needed library, for example <c>libstdc++.so.6</c>.</param>
/// <param name="VersionName">The needed version, for example <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="IsWeak">True when the VER_FLG_WEAK flag is set: the loader accepts the library without it.</param>
/// <param name="VersionIndex">The index that <c>.gnu.version</c> uses to tie symbols to this need.</param>
/// <param name="FlagsOffset">File offset of the entry's 16-bit <c>vna_flags</c> field.</param>
/// <param name="Symbols">Undefined dynamic symbols bound to this version.</param>
public sealed record ElfVersionNeed(
    string LibraryName, string VersionName, bool IsWeak, int VersionIndex, long FlagsOffset, IReadOnlyList<string> Symbols);

/// <summary>
/// Reads the version-need table of a 64-bit little-endian ELF shared library and can mark one need as weak.
/// </summary>
/// <remarks>
/// Why this exists: TorchSharp 0.107's <c>libLibTorchSharp.so</c> was linked with GCC 13 and so declares a
/// need for <c>GLIBCXX_3.4.32</c>, which Debian 12 and Ubuntu 22.04 (GCC 12, GLIBCXX_3.4.30) lack. The only
/// symbol behind that need is <c>std::ios_base_library_init()</c>, a link-time marker GCC 13 emits with no
/// relocation, so nothing at run time ever looks it up. Setting VER_FLG_WEAK on that single need makes the
/// dynamic loader accept the library on older systems and changes nothing on newer ones.
/// </remarks>
public static class ElfVersionNeeds
{
    /// <summary>The ELF flag that makes a version need optional.</summary>
    public const ushort VerFlagWeak = 0x2;

    const uint SectionTypeDynamicSymbols = 11;
    const uint SectionTypeVersionNeeds = 0x6ffffffe;
    const uint SectionTypeVersionSymbols = 0x6fffffff;

    /// <summary>Symbols known to be link-time markers only: weakening a need that only they use is safe.</summary>
    public static readonly IReadOnlySet<string> LinkTimeMarkerSymbols = new HashSet<string>(StringComparer.Ordinal)
    {
        "_ZSt21ios_base_library_initv", // std::ios_base_library_init(), emitted by GCC 13's <iostream>
    };

    /// <summary>Reads every version need of the library at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed 64-bit little-endian ELF file.</exception>
    public static IReadOnlyList<ElfVersionNeed> Read(string path) => Read(File.ReadAllBytes(path), path);

    /// <summary>Reads every version need from the bytes of an ELF file; <paramref name="name"/> is used in errors.</summary>
    public static IReadOnlyList<ElfVersionNeed> Read(ReadOnlySpan<byte> elf, string name)
    {
        var sections = ReadSectionHeaders(elf, name);
        var needs = new List<(string Library, string Version, ushort Flags, int Index, long FlagsOffset)>();
        var symbolsByIndex = new Dictionary<int, List<string>>();

        foreach (var section in sections.Where(s => s.Type == SectionTypeVersionNeeds))
        {
            var strings = At(sections, section.Link, name);
            long entry = section.Offset;
            // sh_info holds the number of Verneed records.
            for (int i = 0; i < section.Info; i++)
            {
                var verneed = Slice(elf, entry, 16, name);
                ushort auxCount = BinaryPrimitives.ReadUInt16LittleEndian(verneed[2..]);
                string library = ReadString(elf, strings, BinaryPrimitives.ReadUInt32LittleEndian(verneed[4..]), name);
                long aux = entry + BinaryPrimitives.ReadUInt32LittleEndian(verneed[8..]);
                for (int j = 0; j < auxCount; j++)
                {
                    var vernaux = Slice(elf, aux, 16, name);
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(vernaux[4..]);
                    ushort index = BinaryPrimitives.ReadUInt16LittleEndian(vernaux[6..]);
                    string version = ReadString(elf, strings, BinaryPrimitives.ReadUInt32LittleEndian(vernaux[8..]), name);
                    needs.Add((library, version, flags, index, aux + 4));
                    uint nextAux = BinaryPrimitives.ReadUInt32LittleEndian(vernaux[12..]);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(verneed[12..]);
                if (next == 0) break;
                entry += next;
            }
        }

        // Tie undefined dynamic symbols to their version index through .gnu.version (one ushort per symbol).
        var dynsym = sections.FirstOrDefault(s => s.Type == SectionTypeDynamicSymbols);
        var versym = sections.FirstOrDefault(s => s.Type == SectionTypeVersionSymbols);
        if (dynsym is not null && versym is not null)
        {
            var strings = At(sections, dynsym.Link, name);
            long count = dynsym.Size / 24;
            for (long i = 0; i < count; i++)
            {
                var symbol = Slice(elf, dynsym.Offset + i * 24, 24, name);
                ushort sectionIndex = BinaryPrimitives.ReadUInt16LittleEndian(symbol[6..]);
                if (sectionIndex != 0) continue; // defined here, not needed from elsewhere
                int versionIndex = BinaryPrimitives.ReadUInt16LittleEndian(Slice(elf, versym.Offset + i * 2, 2, name)) & 0x7fff;
                string symbolName = ReadString(elf, strings, BinaryPrimitives.ReadUInt32LittleEndian(symbol), name);
                if (!symbolsByIndex.TryGetValue(versionIndex, out var list)) symbolsByIndex[versionIndex] = list = [];
                list.Add(symbolName);
            }
        }

        return needs.Select(n => new ElfVersionNeed(
            n.Library, n.Version, (n.Flags & VerFlagWeak) != 0, n.Index, n.FlagsOffset,
            symbolsByIndex.TryGetValue(n.Index, out var symbols) ? symbols : [])).ToList();
    }

    /// <summary>
    /// The needs that may safely be made weak: not weak yet, and used only by link-time marker symbols.
    /// </summary>
    public static IReadOnlyList<ElfVersionNeed> MarkerOnlyNeeds(IEnumerable<ElfVersionNeed> needs) =>
        needs.Where(n => !n.IsWeak && n.Symbols.Count > 0 && n.Symbols.All(LinkTimeMarkerSymbols.Contains)).ToList();

    /// <summary>Returns a copy of <paramref name="elf"/> with VER_FLG_WEAK set on each of <paramref name="needs"/>.</summary>
    public static byte[] WithWeakNeeds(ReadOnlySpan<byte> elf, IEnumerable<ElfVersionNeed> needs)
    {
        var patched = elf.ToArray();
        foreach (var need in needs)
        {
            var field = patched.AsSpan(checked((int)need.FlagsOffset), 2);
            BinaryPrimitives.WriteUInt16LittleEndian(field, (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(field) | VerFlagWeak));
        }
        return patched;
    }

    sealed record Section(uint Type, long Offset, long Size, int Link, int Info);

    static List<Section> ReadSectionHeaders(ReadOnlySpan<byte> elf, string name)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{name}: not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{name}: only 64-bit little-endian ELF files are supported.");
        long sectionHeaderOffset = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(elf[40..]));
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf[58..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf[60..]);
        if (entrySize < 64)
            throw new InvalidDataException($"{name}: section header entries of {entrySize} bytes; expected 64.");
        var sections = new List<Section>(count);
        for (int i = 0; i < count; i++)
        {
            var header = Slice(elf, sectionHeaderOffset + (long)i * entrySize, 64, name);
            sections.Add(new Section(
                Type: BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
                Offset: checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[24..])),
                Size: checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header[32..])),
                Link: (int)BinaryPrimitives.ReadUInt32LittleEndian(header[40..]),
                Info: (int)BinaryPrimitives.ReadUInt32LittleEndian(header[44..])));
        }
        return sections;
    }

    static Section At(List<Section> sections, int index, string name) =>
        index >= 0 && index < sections.Count ? sections[index]
            : throw new InvalidDataException($"{name}: section link {index} is out of range.");

    static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> elf, long offset, int length, string name)
    {
        if (offset < 0 || offset + length > elf.Length)
            throw new InvalidDataException($"{name}: truncated ELF file (needs bytes {offset}..{offset + length}, has {elf.Length}).");
        return elf.Slice((int)offset, length);
    }

    static string ReadString(ReadOnlySpan<byte> elf, Section strings, uint offset, string name)
    {
        long start = strings.Offset + offset;
        if (offset >= strings.Size || start >= elf.Length)
            throw new InvalidDataException($"{name}: string offset {offset} is outside its string table.");
        var rest = elf[(int)start..(int)Math.Min(elf.Length, strings.Offset + strings.Size)];
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }
}
