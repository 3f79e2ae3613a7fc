namespace Aim.AI.Tests;

public sealed class GenericTools<T>
{
    public int Puts;

    [SecureAction("db:write")]
    public string Put(T item)
    {
        Interlocked.Increment(ref Puts);
        return "stored " + item;
    }
}

/// <summary>A [SecureAction] method in an assembly the generator never saw (emitted at run time), so no catalog has it.</summary>
public static class UncatalogedMethod
{
    private static int runs;

    public static int Runs => Volatile.Read(ref runs);

    public static void Ran() => Interlocked.Increment(ref runs);

    public static System.Reflection.MethodInfo Create()
    {
        var assembly = System.Reflection.Emit.AssemblyBuilder.DefineDynamicAssembly(new System.Reflection.AssemblyName("Uncataloged" + Guid.NewGuid().ToString("N")), System.Reflection.Emit.AssemblyBuilderAccess.Run);
        var type = assembly.DefineDynamicModule("m").DefineType("Plugins.Dynamic", System.Reflection.TypeAttributes.Public | System.Reflection.TypeAttributes.Sealed | System.Reflection.TypeAttributes.Abstract);
        var method = type.DefineMethod("Delete", System.Reflection.MethodAttributes.Public | System.Reflection.MethodAttributes.Static, typeof(void), Type.EmptyTypes);
        method.SetCustomAttribute(new System.Reflection.Emit.CustomAttributeBuilder(typeof(SecureActionAttribute).GetConstructor([typeof(string)])!, ["db:read"]));
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Call, typeof(UncatalogedMethod).GetMethod(nameof(Ran))!);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        return type.CreateType()!.GetMethod("Delete")!;
    }
}
