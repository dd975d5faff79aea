from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'create_table.sql.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_block = resolve('block')
    l_0_name = resolve('name')
    pass
    for l_1_line in environment.getattr((undefined(name='block') if l_0_block is missing else l_0_block), 'comments'):
        _loop_vars = {}
        pass
        yield '-- '
        yield str(l_1_line)
        yield '\n'
    l_1_line = missing
    yield 'CREATE TABLE '
    yield str((undefined(name='name') if l_0_name is missing else l_0_name))
    yield ' (\n'
    l_1_loop = missing
    for (l_1_sql, l_1_comment), l_1_loop in LoopContext(environment.getattr((undefined(name='block') if l_0_block is missing else l_0_block), 'items'), undefined):
        _loop_vars = {}
        pass
        yield '    '
        yield str(l_1_sql)
        yield str((',' if (not environment.getattr(l_1_loop, 'last')) else ''))
        if l_1_comment:
            pass
            yield '  -- '
            yield str(l_1_comment)
        yield '\n'
    l_1_loop = l_1_sql = l_1_comment = missing
    yield ')'
    yield str(environment.getattr((undefined(name='block') if l_0_block is missing else l_0_block), 'suffix'))
    yield ';\n'
    for l_1_statement in environment.getattr((undefined(name='block') if l_0_block is missing else l_0_block), 'after'):
        _loop_vars = {}
        pass
        yield str(environment.getattr(l_1_statement, 'sql'))
        yield '\n'
    l_1_statement = missing

blocks = {}
debug_info = '1=13&2=17&4=21&5=24&6=28&9=37&10=39&11=42'